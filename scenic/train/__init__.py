"""Training: triplet-contrastive SFT (`train`), the reusable optimisation loop (`train_loop`), data and losses.

Attributes load lazily so that reading a dataset (scenic.train.data) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "train": "scenic.train.run", "build_command_model": "scenic.train.run",
    "train_loop": "scenic.train.loop", "LoopResult": "scenic.train.loop",
    "LoopConfig": "scenic.train.config", "TrainConfig": "scenic.train.config",
    "Batch": "scenic.train.data", "BatchSource": "scenic.train.data", "DataError": "scenic.train.data",
    "read_jsonl": "scenic.train.data", "load_split": "scenic.train.data", "load_triplets": "scenic.train.data",
    "triplet_loss": "scenic.train.losses", "cosine_distance": "scenic.train.losses", "batch_loss": "scenic.train.losses",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'scenic.train' has no attribute '{name}'")
