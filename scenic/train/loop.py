"""The optimisation loop shared by `scenic train` and the compression stage's recovery fine-tuning.

AdamW with warm-up and clipping, bf16 autocast on CUDA, periodic validation with best-checkpoint callback,
resumable state, and an `after_step(module)` hook (compression re-applies its masks there).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import torch

from scenic.artifacts import sha256_json
from scenic.train.config import LoopConfig
from scenic.train.data import Batch
from scenic.train.losses import batch_loss
from scenic.train.state import load_state, save_state, state_step

Evaluate = Callable[[Any], float]  # CommandModel -> metric, higher is better (validation EM)


@dataclass
class LoopResult:
    steps: int  # steps done in total (including those before a resume)
    completed: bool  # False when stopped early at `stop_at_step` (state saved for --resume)
    best_step: int | None = None
    best_metric: float | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0  # wall time of this call
    examples_per_second: float = 0.0


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for plain fp32. bf16 needs no loss scaling, unlike fp16."""
    if precision == "auto":
        return torch.bfloat16 if device.type == "cuda" else None
    return torch.bfloat16 if precision == "bf16" else None


def make_optimizer(module: torch.nn.Module, config: LoopConfig, device: torch.device):
    """AdamW without weight decay on biases and norms (the usual transformer recipe), and its LR schedule."""
    from transformers import get_scheduler

    decay, no_decay = [], []
    for name, p in module.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim < 2 or "norm" in name.lower() else decay).append(p)
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=config.lr, betas=(0.9, 0.98), eps=1e-8,
                            fused=device.type == "cuda")
    name = {"cosine": "cosine", "linear": "linear", "constant": "constant_with_warmup"}[config.lr_schedule]
    sched = get_scheduler(name, opt, num_warmup_steps=min(config.warmup_steps, config.max_steps),
                          num_training_steps=config.max_steps)
    return opt, sched


class _StopFlag:
    """Ctrl-C asks the loop to stop at the next step boundary, so the saved state is always a whole step."""

    def __init__(self) -> None:
        self.requested = False

    @contextlib.contextmanager
    def installed(self):
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.getsignal(signal.SIGINT)

        def handler(signum, frame):
            if self.requested:  # a second Ctrl-C stops at once
                signal.signal(signal.SIGINT, previous)
                raise KeyboardInterrupt
            self.requested = True

        signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


def _progress(enabled: bool, description: str, total: int, start: int):
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    prog = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), TextColumn("{task.fields[info]}"), disable=not enabled, transient=False)
    task = prog.add_task(description, total=total, completed=start, info="")
    return prog, task


def train_loop(model, batches: Callable[[int], Batch] | Iterable[Batch], config: LoopConfig, *,
               after_step: Callable[[torch.nn.Module], None] | None = None,
               evaluate: Evaluate | None = None,
               on_best: Callable[[Any, int, float], None] | None = None,
               state_dir: str | Path | None = None, state_files: dict[str, str] | None = None,
               resume: bool = False, stop_at_step: int | None = None,
               progress: bool = True, description: str = "train") -> LoopResult:
    """Optimise a CommandModel in place for `config.max_steps` steps and return what happened.

    - `batches`: a function step -> Batch (resumable: the batch depends only on the step) or an iterable of Batch
      (on resume, the batches before the resumed step are skipped).
    - `after_step(module)`: called with the torch module after every optimizer step (e.g. re-apply pruning masks).
    - `evaluate(model) -> float`: higher is better; run every `config.eval_every` steps and at the end; each new best
      (ties go to the later step) is passed to `on_best(model, step, metric)`.
    - `state_dir`: where the resumable state is saved every `config.checkpoint_every` steps, at `stop_at_step`, and on
      Ctrl-C; `resume=True` continues from it. `state_files` are extra text files written into each state.
    """
    module = model.model
    device = model.device
    amp_dtype = resolve_precision(config.precision, device)
    state_dir = Path(state_dir) if state_dir is not None else None
    torch.manual_seed(config.seed)
    opt, sched = make_optimizer(module, config, device)
    config_hash = sha256_json(config.model_dump(mode="json"))
    book: dict[str, Any] = {"best_step": None, "best_metric": None, "history": [], "config_hash": config_hash}
    start = 0
    if resume and state_dir is not None and state_step(state_dir) is not None:
        start, book = load_state(state_dir, module, opt, sched)
        if book.get("config_hash") != config_hash:
            from scenic import ScenicError

            raise ScenicError(f"{state_dir}: the saved state was made with a different loop config; "
                              "start again without --resume")
    if callable(batches):
        get_batch = batches
    else:
        iterator = iter(batches)
        if start:
            next(itertools.islice(iterator, start - 1, None), None)  # skip what the earlier run consumed

        def get_batch(_step: int) -> Batch:
            return next(iterator)

    last = min(config.max_steps, stop_at_step) if stop_at_step is not None else config.max_steps

    window: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]] = [
        (torch.tensor(t, device=device), torch.tensor(c, device=device), None if x is None else torch.tensor(x, device=device))
        for t, c, x in book.pop("window", [])
    ]  # losses since the last log line; saved with the state so a resumed run logs the same averages

    def checkpoint(step: int) -> None:
        if state_dir is not None:
            pending = [[t.item(), c.item(), None if x is None else x.item()] for t, c, x in window]
            save_state(state_dir, module, opt, sched, step, {**book, "window": pending}, state_files)

    def run_eval(step: int) -> None:
        metric = float(evaluate(model))
        book["history"].append({"step": step, "val_em": metric})
        if book["best_metric"] is None or metric >= book["best_metric"]:
            book["best_step"], book["best_metric"] = step, metric
            if on_best is not None:
                on_best(model, step, metric)

    stop = _StopFlag()
    prog, task = _progress(progress, description, config.max_steps, start)
    module.train()
    t0, seen = time.perf_counter(), 0
    step = start
    with stop.installed(), prog:
        while step < last:
            batch = get_batch(step)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                loss = batch_loss(model, batch, config.triplet_lambda, config.triplet_margin, config.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.total.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(module.parameters(), config.grad_clip)
            opt.step()
            sched.step()
            if after_step is not None:
                after_step(module)
            step += 1
            seen += batch.num_sequences
            window.append((loss.total.detach(), loss.ce.detach(),
                           None if loss.triplet is None else loss.triplet.detach()))
            if step % config.log_every == 0 or step == config.max_steps:
                trip = [x for _, _, x in window if x is not None]
                entry = {"step": step, "loss": torch.stack([t for t, _, _ in window]).mean().item(),
                         "ce": torch.stack([c for _, c, _ in window]).mean().item(), "lr": sched.get_last_lr()[0]}
                if trip:
                    entry["triplet"] = torch.stack(trip).mean().item()
                if not math.isfinite(entry["loss"]):
                    from scenic import ScenicError

                    raise ScenicError(f"training diverged at step {step} (loss {entry['loss']}); lower lr")
                book["history"].append(entry)
                window.clear()
                rate = seen / max(time.perf_counter() - t0, 1e-9)
                best = f" val_em {book['best_metric']:.3f}" if book["best_metric"] is not None else ""
                prog.update(task, completed=step,
                            info=f"loss {entry['loss']:.4f}{best} {rate:,.0f} ex/s")
            if evaluate is not None and (step == config.max_steps or (config.eval_every and step % config.eval_every == 0)):
                run_eval(step)
            if stop.requested:
                checkpoint(step)
                raise KeyboardInterrupt
            if step < config.max_steps and (step == last or (config.checkpoint_every and step % config.checkpoint_every == 0)):
                checkpoint(step)
    seconds = time.perf_counter() - t0
    return LoopResult(steps=step, completed=step >= config.max_steps, best_step=book["best_step"],
                      best_metric=book["best_metric"], history=book["history"], seconds=seconds,
                      examples_per_second=seen / max(seconds, 1e-9))
