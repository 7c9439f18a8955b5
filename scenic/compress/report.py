"""compression.json: what was pruned and quantized, measured on the final weights (not what was asked for)."""

from __future__ import annotations

from typing import Any

from torch import nn

from scenic.compress.masks import layer_sparsity, total_sparsity
from scenic.compress.scope import select_targets
from scenic.models.presets import count_parameters

REPORT_FILE = "compression.json"
REPORT_FORMAT = "scenic-compression"
REPORT_VERSION = 1


def sparsity_section(model: nn.Module, pruned: list[str], semi_structured: bool, embeddings: bool,
                     lm_head: bool) -> dict[str, Any]:
    """Per-layer sparsity of every Linear (plus opted-in embeddings/head) and three totals.

    `pruned_layers`: over the matrices that were pruned; `linear_layers`: over all reported matrices;
    `whole_model`: zeros over every parameter (embeddings, norms and biases included).
    """
    targets = select_targets(model, embeddings=embeddings, lm_head=lm_head)
    weights = {t.name: t.weight for t in targets}
    rows = layer_sparsity(weights, check_2_4=pruned if semi_structured else ())
    for t in targets:
        rows[t.name]["pruned"] = t.name in pruned
        rows[t.name]["kind"] = t.kind
        if t.aliases:
            rows[t.name]["tied_to"] = t.aliases
    zeros = sum(int((p.detach() == 0).sum()) for p in model.parameters())  # tied tensors once
    pruned_rows = {n: r for n, r in rows.items() if r["pruned"]}
    out: dict[str, Any] = {
        "pruned_layers": total_sparsity(pruned_rows) if pruned_rows else None,
        "linear_layers": total_sparsity(rows),
        "whole_model": round(zeros / max(1, count_parameters(model)), 6),
        "layers": rows,
    }
    if semi_structured:
        out["pattern_2_4_all_pruned"] = all(r.get("pattern_2_4", False) for r in pruned_rows.values())
    return out


def build_report(*, source: dict[str, Any], kind: str, config: dict[str, Any], steps: list[str],
                 parameters: dict[str, int], sparsity: dict[str, Any], structured: dict[str, Any] | None,
                 pruning: dict[str, Any] | None, recovery: list[dict[str, Any]] | None,
                 quantization: dict[str, Any] | None, previous: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "format": REPORT_FORMAT, "version": REPORT_VERSION, "source": source, "kind": kind, "steps": steps,
        "parameters": parameters, "structured": structured, "pruning": pruning, "recovery": recovery,
        "quantization": quantization, "sparsity": sparsity, "config": config, "previous": previous,
    }
