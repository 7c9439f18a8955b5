"""`sparsify(model, sparsity, targets)`: compute masks (ours or modelopt's), apply them, check the 2:4 pattern."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from scenic.compress.config import SEMI_STRUCTURED
from scenic.compress.masks import Masks, apply_masks, follows_2_4, magnitude_masks, semi_structured_masks
from scenic.compress.scope import Target


class PatternError(RuntimeError):
    """A matrix that should follow 2:4 does not: a bug, never a user error."""


@dataclass
class SparsifyResult:
    sparsity: float | str
    method: str
    masks: Masks
    weights: dict[str, torch.Tensor]  # target name -> live weight parameter
    skipped: dict[str, str] = field(default_factory=dict)  # target name -> why it stayed dense

    @property
    def semi_structured(self) -> bool:
        return self.sparsity == SEMI_STRUCTURED

    def check(self) -> None:
        """Masked entries are zero, and every 2:4-pruned matrix follows the pattern exactly."""
        for name, mask in self.masks.items():
            w = self.weights[name].detach()
            if bool((w[~mask.to(w.device)] != 0).any()):
                raise PatternError(f"{name}: pruned weights are non-zero")
            if self.semi_structured and not follows_2_4(w):
                raise PatternError(f"{name}: does not follow the 2:4 pattern")


def sparsify(model: nn.Module, sparsity: float | str, targets: list[Target], method: str = "magnitude",
             granularity: str = "layer", forward_loop: Callable[[nn.Module], None] | None = None) -> SparsifyResult:
    """Prune `targets` of `model` in place to `sparsity` (a fraction, or "2:4") and return the masks."""
    weights = {t.name: t.weight for t in targets}
    skipped: dict[str, str] = {}
    if method == "magnitude":
        if sparsity == SEMI_STRUCTURED:
            masks, skipped = semi_structured_masks(weights)
        else:
            masks = magnitude_masks(weights, float(sparsity), granularity)
    else:
        from scenic.compress.modelopt_sparsity import modelopt_sparsify

        masks, skipped = modelopt_sparsify(model, targets, method, forward_loop)
        if getattr(model.config, "tie_word_embeddings", False):
            model.tie_weights()  # modelopt's convert/export round trip unties the LM head from the embeddings
        weights = {n: model.get_submodule(n).weight for n in weights}  # modelopt re-registers parameters
    apply_masks(weights, masks)
    result = SparsifyResult(sparsity, method, masks, {n: weights[n] for n in masks}, skipped)
    result.check()
    return result
