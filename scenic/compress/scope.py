"""Which weight matrices a step touches: rules are data (fnmatch patterns over module names), as in modelopt.

By default every Linear of the encoder and decoder; the token embeddings and the LM head only when asked for.
Tied weights (the LM head shares the embedding matrix in both our backbones) are counted once, under the first name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase

import torch
from torch import nn


@dataclass
class Target:
    name: str  # module name, e.g. "encoder.block.0.layer.1.DenseReluDense.wi"
    module: nn.Module
    kind: str  # "linear" | "embedding" | "lm_head"
    aliases: list[str] = field(default_factory=list)  # other module names sharing this weight (tied)

    @property
    def weight(self) -> nn.Parameter:
        return self.module.weight


def _matches(names: list[str], include: list[str], exclude: list[str]) -> bool:
    """In when any of its names is included and none is excluded (an exclude rule always wins)."""
    included = any(fnmatchcase(n, p) for n in names for p in include)
    return included and not any(fnmatchcase(n, p) for n in names for p in exclude)


def select_targets(model: nn.Module, include: list[str] | None = None, exclude: list[str] | None = None,
                   embeddings: bool = False, lm_head: bool = False) -> list[Target]:
    """Weight-bearing modules to prune or quantize, in model order, each weight once."""
    include = include or ["*"]
    exclude = exclude or []
    head = model.get_output_embeddings()
    emb = model.get_input_embeddings()
    head_w = head.weight if head is not None else None
    emb_w = emb.weight if emb is not None else None
    groups: dict[int, list[tuple[str, nn.Module]]] = {}
    for name, module in model.named_modules():
        w = getattr(module, "weight", None)
        if not isinstance(w, torch.Tensor) or w.dim() != 2:
            continue
        if not isinstance(module, nn.Linear) and w is not emb_w:
            continue  # other tables, e.g. T5's relative attention bias
        groups.setdefault(id(w), []).append((name, module))
    out: list[Target] = []
    for members in groups.values():
        w = members[0][1].weight
        is_head, is_emb = head_w is not None and w is head_w, emb_w is not None and w is emb_w
        if is_head or is_emb:
            wanted = (is_head and lm_head) or (is_emb and embeddings)
            kind = "embedding" if is_emb and embeddings else "lm_head"
        else:
            wanted, kind = True, "linear"
        # name it after its Linear when there is one (hooks and reports speak of the matmul)
        members = sorted(members, key=lambda m: not isinstance(m[1], nn.Linear))
        names = [n for n, _ in members]
        if wanted and _matches(names, include, exclude):
            out.append(Target(names[0], members[0][1], kind, aliases=names[1:]))
    return out


def select_linears(model: nn.Module, include: list[str] | None = None, exclude: list[str] | None = None,
                   lm_head: bool = False) -> list[Target]:
    """Linear layers only (what INT8 quantizes): embeddings are gathers, not matmuls."""
    return [t for t in select_targets(model, include, exclude, embeddings=False, lm_head=lm_head)
            if isinstance(t.module, nn.Linear)]
