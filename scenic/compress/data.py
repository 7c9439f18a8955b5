"""Batches for recovery and calibration, built by the caller (api/CLI) from a dataset folder and handed in.

The pruning and quantization functions never read files: they take iterables of batches or a forward_loop
(modelopt style). This module is the one place that turns a dataset folder into those.
"""

from __future__ import annotations

import random
from typing import Callable, Iterable

import torch


def load_training_rows(folder) -> tuple[list[dict], list[dict]]:
    """train.jsonl records and triplets.jsonl records (empty when absent), read by the train stage's reader."""
    from scenic.train.data import load_split, load_triplets

    return load_split(folder, "train"), load_triplets(folder)


def calibration_batches(cm, rows: list[dict], n_batches: int, batch_size: int, seed: int = 0) -> list[dict[str, torch.Tensor]]:
    """Teacher-forced model inputs (prompt and command) from train records, so decoder activations are calibrated
    too; at most one pass over the data, in a seeded random order."""
    order = list(rows)
    random.Random(seed).shuffle(order)
    order = order[:n_batches * batch_size]
    return [cm.training_batch([r["prompt"] for r in order[i:i + batch_size]],
                              [r["command"] for r in order[i:i + batch_size]])
            for i in range(0, len(order), batch_size)]


def model_inputs(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v for k, v in batch.items() if k != "prompt_mask"}


def forward_loop_from(batches: Iterable[dict[str, torch.Tensor]]) -> Callable[[torch.nn.Module], None]:
    """modelopt-style `forward_loop(model)`: runs the batches through whatever model it is given."""
    batches = list(batches)

    @torch.no_grad()
    def forward_loop(model: torch.nn.Module) -> None:
        device = next(model.parameters()).device
        for b in batches:
            model(**{k: v.to(device) for k, v in model_inputs(b).items()})

    return forward_loop
