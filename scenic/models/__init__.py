"""Backbones: presets, the corpus tokenizer, and CommandModel (model + tokenizer + generation + save/load).

Attributes load lazily: the tokenizer and presets are usable without importing torch (e.g. by the ONNX runtime).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CommandModel": "scenic.models.command_model",
    "PRESETS": "scenic.models.presets", "BackboneConfig": "scenic.models.presets", "build_model": "scenic.models.presets",
    "count_parameters": "scenic.models.presets", "preset": "scenic.models.presets",
    "train_tokenizer": "scenic.models.tokenizer",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'scenic.models' has no attribute '{name}'")
