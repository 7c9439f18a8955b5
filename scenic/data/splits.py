"""Split policy for imported data, and the overlap report every dataset carries in its manifest."""

from __future__ import annotations

import random
from itertools import combinations
from typing import Callable, Mapping, Sequence

SPLITS = ("train", "val", "test")


def split_by_response(commands: Sequence[str], seed: int, val_fraction: float, test_fraction: float,
                      min_group: int = 3) -> list[str]:
    """A split name per row: val/test take prompts of responses that keep other phrasings in train.

    Only responses with at least `min_group` prompts give any away, and each keeps at least half of its prompts
    in train. Held-out prompts are taken round-robin across responses so that val/test cover many responses
    rather than exhausting a few.
    """
    rng = random.Random(f"{seed}:import-split")
    groups: dict[str, list[int]] = {}
    for i, c in enumerate(commands):
        groups.setdefault(c, []).append(i)
    eligible = [list(g) for g in groups.values() if len(g) >= min_group]
    for g in eligible:
        rng.shuffle(g)
    rng.shuffle(eligible)
    n = len(commands)
    want = {"val": round(val_fraction * n), "test": round(test_fraction * n)}
    got = {"val": 0, "test": 0}
    labels = ["train"] * n
    rounds = max((len(g) // 2 for g in eligible), default=0)
    for r in range(rounds):
        for g in eligible:
            if got["val"] >= want["val"] and got["test"] >= want["test"]:
                return labels
            if r >= len(g) // 2:
                continue
            # the split furthest below its target takes the next prompt
            split = min(("val", "test"), key=lambda s: (got[s] / want[s]) if want[s] else 2.0)
            if got[split] >= want[split]:
                continue
            labels[g[r]] = split
            got[split] += 1
    return labels


def overlap_report(splits: Mapping[str, Sequence[Mapping]], normalize: Callable[[str], str] | None = None) -> dict:
    """Exact-prompt, normalised-prompt and template overlap between each pair of splits (all must be 0)."""
    prompts = {s: {r["prompt"] for r in rows} for s, rows in splits.items()}
    report: dict = {"exact_prompt": {}, "normalized_prompt": {}, "template": {}}
    norm = {s: {normalize(p) for p in ps} for s, ps in prompts.items()} if normalize else None
    templates = {s: {r.get("template") for r in rows if r.get("template")} for s, rows in splits.items()}
    for a, b in combinations([s for s in SPLITS if s in splits], 2):
        pair = f"{a}/{b}"
        report["exact_prompt"][pair] = len(prompts[a] & prompts[b])
        if norm is not None:
            report["normalized_prompt"][pair] = len(norm[a] & norm[b])
        report["template"][pair] = len(templates[a] & templates[b])
    if normalize is None:
        del report["normalized_prompt"]
    if not any(templates.values()):
        del report["template"]  # imported data has no templates
    return report
