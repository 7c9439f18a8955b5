"""Triplets for contrastive training: (anchor, positive with the same command, hard negative that differs a little).

Generated data: the hard negative's command differs from the anchor's in exactly ONE field of one call (the intent,
the target, or the value), found through an index of commands with one field masked; among prompts with that
command the one from the anchor's own template is preferred, so the two prompts differ only where the meaning does.
Imported (opaque) data: the hard negative is the train prompt most similar by character n-grams (TF-IDF cosine;
works for Chinese, which has no spaces) whose response differs, searched in near-linear time
(scenic.data.hard_negatives).
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Sequence

from scenic.commands import Call, render_value
from scenic.commands.language import TARGET_SLOTS

FIELDS = ("intent", "target", "value")


def call_fields(call: Call) -> tuple[str, tuple, tuple]:
    """(intent, target slots, value slots) of a call, each hashable."""
    s = call.slots
    targets = tuple(sorted((k, s[k]) for k in s if k in TARGET_SLOTS))
    values = tuple(sorted((k, render_value(s[k])) for k in s if k not in TARGET_SLOTS))
    return call.intent, targets, values


def difference(a: Sequence[Call], b: Sequence[Call]) -> list[str] | None:
    """The fields that differ, per call, between two commands of the same length (None if the lengths differ)."""
    if len(a) != len(b):
        return None
    out = []
    for ca, cb in zip(a, b):
        fa, fb = call_fields(ca), call_fields(cb)
        out += [FIELDS[i] for i in range(3) if fa[i] != fb[i]]
    return out


def _masked_keys(calls: Sequence[Call]):
    reps = [call_fields(c) for c in calls]
    for i, rep in enumerate(reps):
        for f, name in enumerate(FIELDS):
            masked = list(reps)
            masked[i] = tuple(None if j == f else x for j, x in enumerate(rep))
            yield name, (i, name, tuple(masked))


def _hardest(calls_of: dict, command: str, key: tuple, candidates: list[str]) -> list[str]:
    """The neighbours closest to the command: fewest differing target slots, or the same value slot."""
    i, field = key[0], key[1]
    mine = call_fields(calls_of[command][i])

    def distance(other: str) -> int:
        theirs = call_fields(calls_of[other][i])
        if field == "target":
            return len(set(mine[1]) ^ set(theirs[1]))
        if field == "value":
            return int({k for k, _ in mine[2]} != {k for k, _ in theirs[2]})
        return 0

    scored = [(distance(c), c) for c in candidates if c != command]
    best = min(d for d, _ in scored)
    return [c for d, c in scored if d == best]


def structured_triplets(rows: Sequence, seed: int) -> list[dict]:
    """One triplet per train example that has both a positive and a one-field negative.

    `rows` are objects with `prompt`, `command`, `template`, `category` and `calls` (generate.Example).
    """
    rng = random.Random(f"{seed}:triplets")
    by_cmd: dict[str, list[int]] = defaultdict(list)
    by_tpl_cmd: dict[tuple[str, str], list[int]] = defaultdict(list)
    calls_of: dict[str, Sequence[Call]] = {}
    for i, r in enumerate(rows):
        by_cmd[r.command].append(i)
        by_tpl_cmd[(r.template, r.command)].append(i)
        calls_of.setdefault(r.command, r.calls)
    neighbours: dict[tuple, list[str]] = defaultdict(list)
    keys_of: dict[str, list[tuple[str, tuple]]] = {}
    for cmd in sorted(calls_of):
        keys_of[cmd] = list(_masked_keys(calls_of[cmd]))
        for _, key in keys_of[cmd]:
            neighbours[key].append(cmd)
    hardest: dict[tuple, list[str]] = {}
    out = []
    for i, r in enumerate(rows):
        same = by_cmd[r.command]
        if len(same) < 2:
            continue
        # positive: another phrasing of the same command, preferably from another template
        tries = [j for j in (rng.choice(same) for _ in range(4)) if j != i]
        pos = next((j for j in tries if rows[j].template != r.template), None)
        if pos is None:
            pos = tries[0] if tries else next(j for j in same if j != i)
        by_field: dict[str, list[tuple]] = defaultdict(list)
        for name, key in keys_of[r.command]:
            if len(neighbours[key]) > 1:
                by_field[name].append(key)
        if not by_field:
            continue
        field = rng.choice(sorted(by_field))
        key = rng.choice(by_field[field])
        cache_key = (r.command, key)
        choices = hardest.get(cache_key)
        if choices is None:
            choices = hardest[cache_key] = _hardest(calls_of, r.command, key, neighbours[key])
        same_template = [c for c in choices if (r.template, c) in by_tpl_cmd]
        neg_cmd = rng.choice(same_template or choices)
        pool = by_tpl_cmd.get((r.template, neg_cmd)) or by_cmd[neg_cmd]
        neg = rows[rng.choice(pool)]
        out.append({"anchor": r.prompt, "positive": rows[pos].prompt, "negative": neg.prompt, "command": r.command,
                    "negative_command": neg_cmd, "difference": field, "category": r.category})
    return out


class OpaqueTriplets:
    """Triplets of imported data as index arrays; rows are made one at a time while they are written, so a
    million-row import never holds a million triplet dicts."""

    def __init__(self, prompts: Sequence[str], commands: Sequence[str], anchor, positive, negative, info: dict):
        self.prompts, self.commands, self.info = prompts, commands, info
        self.anchor, self.positive, self.negative = anchor, positive, negative

    def __len__(self) -> int:
        return len(self.anchor)

    def __iter__(self):
        p, c = self.prompts, self.commands
        for a, pos, neg in zip(self.anchor.tolist(), self.positive.tolist(), self.negative.tolist()):
            yield {"anchor": p[a], "positive": p[pos], "negative": p[neg], "command": c[a],
                   "negative_command": c[neg], "difference": "opaque", "category": "imported"}


def random_positives(groups, seed: int):
    """For every row, another row of its group (-1 for rows alone in theirs); `groups` are integer ids."""
    import numpy as np

    rng = np.random.default_rng([seed, 17])
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.searchsorted(sorted_groups, sorted_groups, side="left")
    sizes = np.searchsorted(sorted_groups, sorted_groups, side="right") - starts
    pos_in_group = np.arange(len(groups)) - starts
    shift = rng.integers(1, np.maximum(sizes, 2))  # 1 .. size-1: never the row itself
    partner = order[starts + (pos_in_group + shift) % np.maximum(sizes, 1)]
    out = np.full(len(groups), -1, dtype=np.int64)
    out[order] = np.where(sizes > 1, partner, -1)
    return out


def opaque_triplets(prompts: Sequence[str], commands: Sequence[str], seed: int,
                    ngram_range: tuple[int, int] = (2, 3), progress=None) -> OpaqueTriplets:
    """Triplets for commands we cannot parse: a random other prompt of the same command as the positive, and as the
    negative the most similar prompt (TF-IDF over character n-grams) with another command, found by
    `scenic.data.hard_negatives.nearest_negatives` in near-linear time. Rows without either get no triplet."""
    import numpy as np

    from scenic.data.hard_negatives import command_ids, nearest_negatives

    found = nearest_negatives(prompts, commands, seed, ngram_range, progress=progress)
    positive = random_positives(command_ids(commands), seed)
    keep = np.nonzero((positive >= 0) & (found.negative >= 0))[0]
    return OpaqueTriplets(prompts, commands, keep, positive[keep], found.negative[keep], found.info)
