"""Pruning masks: unstructured magnitude (per layer or global) and NVIDIA 2:4 semi-structured, plus their checks.

A mask is a bool tensor shaped like the weight, True where the weight is kept. Masks are computed from the
weights, applied by multiplication, and re-applied after every recovery step so pruned weights stay exactly zero.
Written by hand (a top-k over |w|) because torch.nn.utils.prune keeps a second copy of every weight and rewires
parameters into buffers, which breaks save_pretrained; modelopt is used where asked (see modelopt_sparsity.py).
"""

from __future__ import annotations

from typing import Iterable

import torch

Masks = dict[str, torch.Tensor]  # target name -> bool mask (True = kept)


def _keep_largest(scores: torch.Tensor, n_prune: int) -> torch.Tensor:
    """Bool mask with exactly `n_prune` False entries at the smallest scores."""
    flat = scores.reshape(-1)
    keep = torch.ones_like(flat, dtype=torch.bool)
    if n_prune > 0:
        keep[torch.topk(flat, n_prune, largest=False, sorted=False).indices] = False
    return keep.view_as(scores)


def magnitude_masks(weights: dict[str, torch.Tensor], sparsity: float, granularity: str = "layer") -> Masks:
    """Zero the `sparsity` fraction of smallest-|w| entries, per layer or over all layers together."""
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    if granularity == "layer":
        return {n: _keep_largest(w.detach().abs(), round(sparsity * w.numel())) for n, w in weights.items()}
    if granularity != "global":
        raise ValueError(f"granularity must be 'layer' or 'global', got {granularity!r}")
    names = list(weights)
    flat = torch.cat([weights[n].detach().abs().reshape(-1).float() for n in names])
    keep = _keep_largest(flat, round(sparsity * flat.numel()))
    out, start = {}, 0
    for n in names:
        w = weights[n]
        out[n] = keep[start:start + w.numel()].view_as(w)
        start += w.numel()
    return out


def semi_structured_mask(weight: torch.Tensor, n: int = 2, m: int = 4) -> torch.Tensor:
    """Keep the `n` largest-|w| of every `m` consecutive weights along the input (last) dimension."""
    if weight.shape[-1] % m:
        raise ValueError(f"input dimension {weight.shape[-1]} is not a multiple of {m}")
    groups = weight.detach().abs().reshape(-1, m)
    keep = torch.zeros_like(groups, dtype=torch.bool)
    keep.scatter_(1, torch.topk(groups, n, dim=1).indices, True)
    return keep.view_as(weight)


def semi_structured_masks(weights: dict[str, torch.Tensor]) -> tuple[Masks, dict[str, str]]:
    """2:4 masks for every weight whose input dimension allows it; the others are returned as skipped with why."""
    masks, skipped = {}, {}
    for name, w in weights.items():
        if w.shape[-1] % 4:
            skipped[name] = f"input dimension {w.shape[-1]} is not a multiple of 4"
        else:
            masks[name] = semi_structured_mask(w)
    return masks, skipped


def follows_2_4(weight: torch.Tensor) -> bool:
    """True when every group of 4 consecutive weights along the input dimension has at least 2 zeros."""
    if weight.shape[-1] % 4:
        return False
    return bool(((weight.detach().reshape(-1, 4) == 0).sum(dim=1) >= 2).all())


def masks_from_zeros(weights: dict[str, torch.Tensor]) -> Masks:
    """Masks that keep what is non-zero now: how an already sparse checkpoint keeps its pattern through recovery."""
    return {n: w.detach() != 0 for n, w in weights.items()}


@torch.no_grad()
def apply_masks(weights: dict[str, torch.Tensor], masks: Masks) -> None:
    """Zero the pruned entries in place (after every optimizer step during recovery)."""
    for name, mask in masks.items():
        w = weights[name]
        w.mul_(mask.to(device=w.device, dtype=w.dtype))


def cubic_schedule(final: float, stages: int) -> list[float]:
    """Increasing sparsity per stage, fast at first and gentle near the target (Zhu & Gupta 2017)."""
    return [final * (1.0 - (1.0 - k / stages) ** 3) for k in range(1, stages + 1)]


def layer_sparsity(weights: dict[str, torch.Tensor], check_2_4: Iterable[str] = ()) -> dict[str, dict]:
    """Per-weight shape, zero count and sparsity; `pattern_2_4` for the weights that were pruned 2:4."""
    check = set(check_2_4)
    out = {}
    for name, w in weights.items():
        zeros = int((w.detach() == 0).sum())
        row = {"shape": list(w.shape), "numel": w.numel(), "zeros": zeros,
               "sparsity": round(zeros / max(1, w.numel()), 6)}
        if name in check:
            row["pattern_2_4"] = follows_2_4(w)
        out[name] = row
    return out


def total_sparsity(rows: dict[str, dict]) -> float:
    numel = sum(r["numel"] for r in rows.values())
    return round(sum(r["zeros"] for r in rows.values()) / numel, 6) if numel else 0.0

