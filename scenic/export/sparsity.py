"""2:4 sparsity: find it in the PyTorch weights and prove that it survived into every exported graph.

A 2:4 weight has at most two non-zeros in every group of four consecutive input channels (what the compress
stage's 2:4 pruning makes and what TensorRT's sparse kernels need). Export must keep those zeros exact; INT8 does
since it is symmetric (zero point 0). The check matches each sparse PyTorch weight to a graph initializer of the
same (or transposed) shape whose zeros include all of the weight's zeros.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from scenic import ScenicError


class SparsityLostError(ScenicError):
    """A 2:4 sparse weight is no longer exactly sparse in an exported graph."""


def is_2to4(w: np.ndarray) -> bool:
    """At most 2 non-zeros in each group of 4 along the last axis (the input channels of a Linear weight)."""
    if w.ndim != 2 or w.shape[1] % 4 or w.size == 0:
        return False
    nonzero = (w != 0).reshape(w.shape[0], -1, 4).sum(-1)
    return bool((nonzero <= 2).all()) and bool((w == 0).mean() >= 0.5)


def sparse_weights(model) -> dict[str, np.ndarray]:
    """Zero masks of the model's 2:4 Linear weights, by parameter name."""
    import torch

    out = {}
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):
            w = module.weight.detach().cpu().float().numpy()
            if is_2to4(w):
                out[f"{name}.weight"] = w == 0
    return out


def claims_2to4(compression: dict[str, Any] | None) -> bool:
    """Does compression.json say the checkpoint was 2:4 pruned? (Its exact layout is the compress stage's.)"""
    import json

    return compression is not None and "2:4" in json.dumps(compression)


def _initializer_zero_masks(paths: list[Path]) -> list[np.ndarray]:
    """Zero masks of the 2-D weights each graph runs with: for a packed graph, as onnxruntime unpacks them."""
    from scenic.export.packed_2to4 import folded_initializers, is_packed

    masks = []
    for path in paths:
        arrays = folded_initializers(path) if is_packed(path) else \
            [numpy_helper.to_array(i) for i in onnx.load(str(path), load_external_data=True).graph.initializer]
        masks += [a == 0 for a in arrays if a.ndim == 2 and a.size >= 16]
    return masks


def check_graphs(weights: dict[str, np.ndarray], paths: list[Path], variant: str) -> dict[str, Any]:
    """Every sparse weight must appear with all of its zeros in some initializer of the variant's graphs."""
    if not weights:
        return {"sparse_weights": 0, "kept": 0, "exact": True}
    masks = _initializer_zero_masks(paths)
    lost = []
    for name, zeros in weights.items():
        found = False
        for m in masks:
            for cand in (m, m.T):
                if cand.shape == zeros.shape and bool(cand[zeros].all()):
                    found = True
                    break
            if found:
                break
        if not found:
            lost.append(name)
    if lost:
        raise SparsityLostError(f"{variant}: 2:4 sparsity not exact in the exported graph for {len(lost)} weight(s), "
                                f"e.g. {lost[0]}")
    return {"sparse_weights": len(weights), "kept": len(weights), "exact": True}
