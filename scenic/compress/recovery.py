"""Recovery fine-tuning after pruning: the training loop itself, with the masks re-applied after every step.

It reuses `scenic.train.train_loop` (same objective as training: cross-entropy plus, when the data has triplets,
the triplet term; AdamW, warm-up, clipping, bf16 on CUDA) and passes `mask_hook(...)` as its `after_step`,
so pruned weights are exactly zero after every optimizer step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

from scenic.compress.masks import Masks, apply_masks


@dataclass
class RecoveryResult:
    steps: int
    contrastive: bool
    loss_first: float | None = None  # first logged loss (a mean over the logging window)
    loss_last: float | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "contrastive": self.contrastive, "loss_first": self.loss_first,
                "loss_last": self.loss_last, "seconds": round(self.seconds, 3)}


def mask_hook(masks: Masks, weights: dict[str, torch.Tensor]) -> Callable[[torch.nn.Module], None]:
    """`after_step(module)`: put the zeros back where the masks say, so pruned weights never come back."""

    def after_step(_module: torch.nn.Module) -> None:
        apply_masks(weights, masks)

    return after_step


def recover(cm, rows: list[dict], steps: int, *, triplets: list[dict] | None = None,
            after_step: Callable | None = None,
            batch_size: int = 32, lr: float = 3e-4, weight_decay: float = 0.0, warmup_fraction: float = 0.05,
            contrastive_weight: float = 0.1, contrastive_margin: float = 0.2, seed: int = 0,
            progress: bool = True, description: str = "recover") -> RecoveryResult:
    """Fine-tune `cm` in place for `steps` steps on train.jsonl `rows`; `triplets` (triplets.jsonl records) add
    the triplet term for the anchors they cover when `contrastive_weight` > 0."""
    from scenic.train import BatchSource, LoopConfig, train_loop

    if steps <= 0:
        return RecoveryResult(steps=0, contrastive=False)
    use_triplets = bool(triplets) and contrastive_weight > 0
    config = LoopConfig(max_steps=steps, lr=lr, weight_decay=weight_decay,
                        warmup_steps=int(steps * warmup_fraction), triplet_lambda=contrastive_weight if use_triplets else 0.0,
                        triplet_margin=contrastive_margin, seed=seed, eval_every=0, checkpoint_every=0,
                        log_every=max(1, min(20, steps // 10)))
    if after_step is not None:
        after_step(cm.model)  # masks hold from the first forward pass on
    was_training = cm.model.training
    try:
        source = BatchSource(rows, batch_size, seed, triplets if use_triplets else None)
        result = train_loop(cm, source, config, after_step=after_step,
                            progress=progress, description=description)
    finally:
        cm.model.train(was_training)
    losses = [h["loss"] for h in result.history if "loss" in h]
    return RecoveryResult(steps=result.steps, contrastive=use_triplets,
                          loss_first=round(losses[0], 6) if losses else None,
                          loss_last=round(losses[-1], 6) if losses else None, seconds=result.seconds)
