"""Compression: structured pruning, unstructured and 2:4 sparsity, recovery fine-tuning, INT8/FP16 quantization.

`compress(checkpoint, out, CompressConfig(...))` is the stage; the verbs it strings together are public too:
`prune_structured`, `sparsify`, `recover`, `quantize`. Attributes load lazily (torch only when needed).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CompressConfig": "scenic.compress.config", "parse_sparsity": "scenic.compress.config",
    "compress": "scenic.compress.api",
    "select_targets": "scenic.compress.scope", "select_linears": "scenic.compress.scope", "Target": "scenic.compress.scope",
    "magnitude_masks": "scenic.compress.masks", "semi_structured_mask": "scenic.compress.masks",
    "follows_2_4": "scenic.compress.masks", "apply_masks": "scenic.compress.masks", "cubic_schedule": "scenic.compress.masks",
    "sparsify": "scenic.compress.sparsify", "SparsifyResult": "scenic.compress.sparsify",
    "prune_structured": "scenic.compress.structured",
    "recover": "scenic.compress.recovery", "mask_hook": "scenic.compress.recovery",
    "quantize": "scenic.compress.quantize", "QuantState": "scenic.compress.quantize",
    "remove_activation_simulation": "scenic.compress.quantize",
    "install_activation_simulation": "scenic.compress.quantize",
    "save_quantized": "scenic.compress.storage", "load_quantized_model": "scenic.compress.storage",
    "read_quant_metadata": "scenic.compress.storage",
    "calibration_batches": "scenic.compress.data", "forward_loop_from": "scenic.compress.data",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'scenic.compress' has no attribute '{name}'")
