"""Which phrasing templates each split may use, so val/test measure generalisation to unseen phrasings.

A template is a (core, frame) pair: "could you {c}" around "switch {t} off". Two kinds of held-out templates:
- unseen combinations: a share of the pairs of every family goes to val or test only; each core and each frame
  still appears in train with other partners, so every word of a held-out pair is known;
- unseen wordings: a few whole cores per family are held out, but only cores whose every word occurs in the cores
  and frames left to train ("switch {t} on" is held out only if "switch" and "on" are seen elsewhere).
New vocabulary never appears only in val/test: a model cannot generalise to words it has never seen.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from scenic.data.lang import Connector, Core, Frame, LanguagePack

SPLITS = ("train", "val", "test")
MIN_CORES_FOR_HOLDOUT = 6


@dataclass
class TemplatePools:
    """Per split and template family: the (core-or-connector, frame) pairs it may use, and the cores it may use."""

    pairs: dict[str, dict[str, list[tuple[Core | Connector, Frame]]]] = field(default_factory=dict)
    cores: dict[str, dict[str, list[Core]]] = field(default_factory=dict)
    heldout_cores: dict[str, list[str]] = field(default_factory=dict)

    def template_ids(self, split: str) -> set[str]:
        return {template_id(c, f) for pairs in self.pairs[split].values() for c, f in pairs}


def template_id(core: Core | Connector, frame: Frame) -> str:
    prefix = "compound." if isinstance(core, Connector) else ""
    return f"{prefix}{core.id}+{frame.id}"


def template_families(pack: LanguagePack) -> dict[str, tuple[list, list[Frame]]]:
    """Every template family of the pack with its cores and the frames that fit them."""
    imperative = [f for f in pack.frames if "imperative" in f.moods]
    statement = [f for f in pack.frames if "statement" in f.moods]
    # the frames of a family: those that fit at least one of its cores (pairs are filtered by `pack.fits`)
    fams: dict[str, tuple[list, list[Frame]]] = {}
    for name, cores in pack.cores.items():
        fams[f"action.{name}"] = (list(cores), imperative)
    for name, cores in pack.indirect.items():
        fams[f"indirect.{name}"] = (list(cores), statement)
    for name, cores in pack.implicit.items():
        fams[f"implicit.{name}"] = (list(cores), statement)
    for mood in ("imperative", "chatter", "question"):
        cores = [c for c in pack.chat if c.mood == mood]
        if cores:
            fams[f"chat.{mood}"] = (cores, [f for f in pack.frames if mood in f.moods])
    fams["compound"] = (list(pack.connectors), imperative)
    return fams


def split_templates(pack: LanguagePack, seed: int, val_fraction: float, test_fraction: float,
                    heldout_core_fraction: float) -> TemplatePools:
    fams = template_families(pack)
    heldout = _choose_heldout_cores(pack, fams, seed, heldout_core_fraction)
    pools = TemplatePools(pairs={s: {} for s in SPLITS}, cores={s: {} for s in SPLITS},
                          heldout_cores={s: [] for s in SPLITS})
    for name in sorted(fams):
        units, frames = fams[name]
        rng = random.Random(f"{seed}:templates:{name}")
        seen_units = [u for u in units if u.id not in heldout]
        pairs = [(u, f) for u in seen_units for f in frames if _fits(pack, u, f)]
        rng.shuffle(pairs)
        n_val, n_test = round(val_fraction * len(pairs)), round(test_fraction * len(pairs))
        assigned = {"val": pairs[:n_val], "test": pairs[n_val:n_val + n_test], "train": pairs[n_val + n_test:]}
        _repair(assigned, seen_units, frames)
        for split in SPLITS:
            extra = [(u, f) for u in units if heldout.get(u.id) == split for f in frames if _fits(pack, u, f)]
            pools.pairs[split][name] = sorted(assigned[split] + extra, key=lambda p: (p[0].id, p[1].id))
            pools.cores[split][name] = [u for u in units if heldout.get(u.id) in (None, split)]
    for core_id, split in sorted(heldout.items()):
        pools.heldout_cores[split].append(core_id)
    return pools


def _fits(pack: LanguagePack, unit: Core | Connector, frame: Frame) -> bool:
    return isinstance(unit, Connector) or pack.fits(unit, frame)


def _repair(assigned: dict[str, list], units: list, frames: list[Frame]) -> None:
    """Every core and every frame keeps at least one train pair, so train sees all the vocabulary."""
    for pos, items in ((0, units), (1, frames)):
        for item in items:
            if any(p[pos] is item for p in assigned["train"]):
                continue
            for split in ("val", "test"):
                hit = next((p for p in assigned[split] if p[pos] is item), None)
                if hit is not None:
                    assigned[split].remove(hit)
                    assigned["train"].append(hit)
                    break


def _choose_heldout_cores(pack: LanguagePack, fams: dict, seed: int, fraction: float) -> dict[str, str]:
    """Core id -> split for whole cores kept out of train, only where all their words stay known from train."""
    counts: Counter[str] = Counter()
    for units, _ in fams.values():
        for u in units:
            if isinstance(u, Core):
                counts.update(pack.words(u.text))
    for f in pack.frames:
        counts.update(pack.words(f.text))
    out: dict[str, str] = {}
    toggle = 0
    for name in sorted(fams):
        units = [u for u in fams[name][0] if isinstance(u, Core)]
        if len(units) < MIN_CORES_FOR_HOLDOUT or fraction <= 0:
            continue
        want = max(1, round(fraction * len(units)))
        rng = random.Random(f"{seed}:heldout-cores:{name}")
        order = sorted(units, key=lambda u: u.id)
        rng.shuffle(order)
        for u in order:
            if want == 0:
                break
            own = Counter(pack.words(u.text))
            if all(counts[w] - n >= 1 for w, n in own.items()):
                counts.subtract(own)
                out[u.id] = ("val", "test")[toggle % 2]
                toggle += 1
                want -= 1
    return out
