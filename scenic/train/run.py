"""`train(config) -> Path`: a full training run from a dataset folder to a checkpoint folder.

Layout of `out/` while a run is in progress: `state/` (resumable state, rewritten atomically) and `best/` (the best
checkpoint so far). When the run finishes, the final checkpoint (the best one) replaces `out/` in one rename.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from scenic import ScenicError
from scenic.artifacts import (
    MANIFEST, atomic_dir, check_output, folder_hash, make_manifest, read_manifest, sha256_file, write_json_atomic,
)
from scenic.train.config import TrainConfig
from scenic.train.data import BatchSource, check_data_dir, load_split, load_triplets

STATE_DIR = "state"
BEST_DIR = "best"
TRAIN_LOG = "train_log.json"


def _say(console, text: str) -> None:
    if console is not None:
        console.print(text, highlight=False)


def _device(name: str):
    import os

    # Batches differ in shape from step to step; expandable segments keep the allocator from fragmenting. Only
    # effective before CUDA is initialised, and never overrides the user's own setting.
    os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ScenicError("device 'cuda' requested but torch sees no CUDA device (use --device cpu)")
    return torch.device(name)


def device_name(device) -> str:
    import platform

    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return platform.processor() or platform.machine() or "cpu"


RUN_CONFIG = "train_config.json"  # the run's config, kept in state/ so --resume can say how two runs differ
_SAME_RUN_IGNORES = ("out", "device", "log_every", "eval_batch_size", "keep_state")


def _run_differences(saved: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """The settings in which two training configs differ (paths compared resolved; where they run is ignored)."""
    def norm(key: str, value: Any) -> Any:
        return str(Path(value).resolve()) if key in ("data", "init_from") and value else value

    return [k for k in sorted(set(saved) | set(wanted)) if k not in _SAME_RUN_IGNORES
            and norm(k, saved.get(k)) != norm(k, wanted.get(k))]


def _describe(cfg: dict[str, Any]) -> str:
    return f"preset {cfg.get('preset')} on {cfg.get('data')}, {cfg.get('max_steps')} steps, seed {cfg.get('seed')}"


def _not_this_run(out: Path, what: str, saved: dict[str, Any], wanted: dict[str, Any]) -> ScenicError:
    diff = _run_differences(saved, wanted)
    details = "; ".join(f"{k} {saved.get(k)!r} there, {wanted.get(k)!r} asked" for k in diff[:3])
    return ScenicError(f"--resume: {out} holds {what} ({_describe(saved)}), not the run asked for "
                       f"({_describe(wanted)}; {details}); choose another --out, or pass --force without --resume to "
                       "replace it")


def _prepare_out(out: Path, config: TrainConfig, resume: bool, force: bool) -> str:
    """Decide what to do with `out` by the output-folder policy: 'fresh', 'resume' or 'done'."""
    wanted = config.model_dump(mode="json")
    inputs, own = (config.data, config.init_from), (STATE_DIR, BEST_DIR)
    if resume and (out / MANIFEST).is_file():
        manifest = read_manifest(out)
        saved = manifest.get("config") if manifest.get("stage") == "train" else None
        if not isinstance(saved, dict):
            raise ScenicError(f"--resume: {out} holds a SCENIC {manifest.get('stage')} artifact, not a training run "
                              f"({_describe(wanted)}); choose another --out")
        if _run_differences(saved, wanted):
            raise _not_this_run(out, "a different, finished model", saved, wanted)
        return "done"
    if resume and (out / STATE_DIR / RUN_CONFIG).is_file():
        try:
            saved = json.loads((out / STATE_DIR / RUN_CONFIG).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise ScenicError(f"{out / STATE_DIR / RUN_CONFIG}: unreadable; start again without --resume") from None
        if _run_differences(saved, wanted):
            raise _not_this_run(out, "an interrupted run of another model", saved, wanted)
    check_output(out, "train", inputs=inputs, force=force, replace=False, own=own)
    if resume and (out / STATE_DIR).is_dir():
        return "resume"
    if (out / STATE_DIR).is_dir() and not force:
        raise ScenicError(f"{out}: already holds an interrupted run (pass --resume to continue it or --force to "
                          "start again)")
    for sub in own:  # only what an earlier run of this stage made here
        shutil.rmtree(out / sub, ignore_errors=True)
    return "fresh"


def _data_inputs(data: Path) -> dict[str, str]:
    if (data / MANIFEST).is_file():
        return {"data": folder_hash(data)}
    return {"data_train_sha256": sha256_file(data / "train.jsonl")}


def _val_subset(data: Path, k: int, seed: int) -> list[dict[str, Any]]:
    if k == 0 or not (data / "val.jsonl").is_file():
        return []
    rows = load_split(data, "val")
    if len(rows) <= k:
        return rows
    idx = np.random.default_rng([seed, 7]).choice(len(rows), size=k, replace=False)
    return [rows[i] for i in sorted(idx)]


def _training_data(config: TrainConfig, data: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Train rows and the triplets to attach to them (none for examples=pairs)."""
    rows = load_split(data, "train")
    if not rows:
        raise ScenicError(f"{data}/train.jsonl: no examples")
    triplets = load_triplets(data) if config.examples != "pairs" else []
    if config.examples == "triplets" and not triplets:
        raise ScenicError(f"{data}: examples=triplets but the dataset has no triplets.jsonl rows")
    return rows, triplets


def build_command_model(config: TrainConfig, data: Path, rows_for_tokenizer: list[dict[str, Any]],
                        tokenizer_file: Path | None = None):
    """The model to train: from `init_from`, or a fresh backbone with a tokenizer trained on the training texts."""
    from scenic.artifacts import read_tokenizer
    from scenic.models import CommandModel, train_tokenizer

    home_yaml = (data / "home.yaml").read_text(encoding="utf-8") if (data / "home.yaml").is_file() else None
    if config.init_from is not None:
        if config.backbone.model_dump(exclude_unset=True):
            raise ScenicError("backbone overrides do not apply with init_from (the checkpoint fixes the backbone)")
        cm = CommandModel.load(config.init_from)
        cm.home_yaml = home_yaml if home_yaml is not None else cm.home_yaml
        cm.info.update({"init_from": str(config.init_from)})
        return cm
    backbone = config.backbone_config()
    if tokenizer_file is not None:
        tok = read_tokenizer(tokenizer_file)
    else:
        texts = [r[k] for r in rows_for_tokenizer for k in ("prompt", "command")]
        tok = train_tokenizer(texts, vocab_size=backbone.vocab_size)
    cm = CommandModel.create(backbone, tok, home_yaml=home_yaml, max_prompt_tokens=config.max_prompt_tokens,
                             max_command_tokens=config.max_command_tokens,
                             info={"preset": config.preset, "backbone": backbone.model_dump(mode="json")})
    if cm.prompt_tokenizer is not None:
        from scenic.models.warm_start import check_prompt_coverage

        cm.info["prompt_unknown_share"] = check_prompt_coverage(cm.prompt_tokenizer,
                                                                [r["prompt"] for r in rows_for_tokenizer])
    return cm


def train(config: TrainConfig, progress: bool = True, resume: bool = False, force: bool = False,
          stop_at_step: int | None = None, console: Any = None, threads: int | None = None) -> Path:
    """Train a model as `config` says and return the checkpoint folder (`config.out`).

    `resume=True` continues an interrupted run in `config.out` from its saved state (identical results for a fixed
    seed), or returns at once when that run already finished (another model's folder is an error naming both).
    `force=True` replaces a SCENIC artifact in `config.out` (never a folder with other files; docs/CONTRACTS.md).
    `stop_at_step` stops early as if interrupted (the state is saved; useful for time-limited machines). `console`: a rich Console for the summary lines (None: quiet
    unless `progress`). `threads`: CPU threads (default: scenic.threads' policy, the cores available).
    """
    import torch

    from scenic.threads import apply_threads

    apply_threads(threads)
    from scenic.evaluate.metrics import exact_match
    from scenic.train.loop import train_loop

    if console is None and progress:
        from rich.console import Console

        console = Console(stderr=True)
    data, out = check_data_dir(config.data), Path(config.out)
    mode = _prepare_out(out, config, resume, force)
    if mode == "done":
        _say(console, f"{out}: already finished; nothing to resume")
        return out
    rows, triplets = _training_data(config, data)
    source = BatchSource(rows, config.batch_size, config.seed, triplets)
    use_triplets = bool(source.triplet_of)
    device = _device(config.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    state_dir = out / STATE_DIR
    torch.manual_seed(config.seed)
    tokenizer_file = state_dir / "tokenizer.json" if mode == "resume" else None
    cm = build_command_model(config, data, rows, tokenizer_file).to(device)
    n_params = cm.num_parameters
    cm.info.update({"preset": cm.info.get("preset", config.preset), "parameters": n_params})
    amp = "bf16" if (config.precision == "bf16" or (config.precision == "auto" and device.type == "cuda")) else "fp32"
    preset_name = cm.info["preset"]
    _say(console, f"preset {preset_name} ({cm.kind}): {n_params:,} parameters, vocabulary "
                  f"{cm.tokenizer.get_vocab_size():,}; device {device.type} ({device_name(device)}), {amp}; "
                  f"{len(rows):,} examples, {100 * source.triplet_coverage:.0f}% with a triplet, "
                  f"lambda {config.triplet_lambda if use_triplets else 0}")

    val = _val_subset(data, config.eval_examples, config.seed)

    def validation_em(model) -> float:
        preds = model.generate([r["prompt"] for r in val], num_beams=1, num_return=1, batch_size=config.eval_batch_size)
        return sum(exact_match(p[0], r["command"]) for p, r in zip(preds, val)) / len(val)

    def save_best(model, step: int, metric: float) -> None:
        model.info.update({"best_step": step, "val_em": metric})
        with atomic_dir(out / BEST_DIR) as tmp:
            model.save(tmp)

    out.mkdir(parents=True, exist_ok=True)
    result = train_loop(
        cm, source, config,
        evaluate=validation_em if val else None, on_best=save_best, state_dir=state_dir,
        state_files={"tokenizer.json": cm.tokenizer.to_str(),
                     RUN_CONFIG: json.dumps(config.model_dump(mode="json"), indent=2) + "\n"},
        resume=mode == "resume", stop_at_step=stop_at_step, progress=progress, description=f"train {preset_name}",
    )
    if not result.completed:
        _say(console, f"stopped at step {result.steps}/{config.max_steps}; continue with --resume (state in {state_dir})")
        return out
    return _finish(config, cm, result, data, out, device, source, console, force)


def _finish(config: TrainConfig, cm, result, data: Path, out: Path, device, source: BatchSource, console,
            force: bool) -> Path:
    from scenic.models import CommandModel

    best = out / BEST_DIR
    final = CommandModel.load(best) if (best / "scenic_model.json").is_file() else cm
    summary = {
        "preset": final.info.get("preset", config.preset), "kind": final.kind, "parameters": final.num_parameters,
        "steps": result.steps, "best_step": result.best_step, "best_val_em": result.best_metric,
        "train_seconds": result.seconds, "examples_per_second": result.examples_per_second,
        "device": device.type, "device_name": device_name(device),
        "train_examples": len(source.rows), "triplet_coverage": source.triplet_coverage,
        "triplet_term": bool(source.triplet_of) and config.triplet_lambda > 0,
    }
    final.info.update({k: summary[k] for k in ("preset", "parameters", "steps", "best_step")})
    final.info["val_em"] = result.best_metric
    with atomic_dir(out, "train", inputs=(config.data, config.init_from), force=force, replace=False,
                    own=(STATE_DIR, BEST_DIR)) as tmp:
        final.save(tmp)
        write_json_atomic(tmp / TRAIN_LOG, {"summary": summary, "history": result.history})
        files = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
        manifest = make_manifest("train", config, inputs=_data_inputs(data), files=files, root=tmp,
                                 extra={"summary": summary})
        write_json_atomic(tmp / MANIFEST, manifest)
    best_txt = f", best val EM {result.best_metric:.4f} at step {result.best_step}" if result.best_metric is not None else ""
    _say(console, f"trained {result.steps} steps in {result.seconds:.1f} s ({result.examples_per_second:,.0f} ex/s)"
                  f"{best_txt}")
    return out
