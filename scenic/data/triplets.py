"""Triplets for contrastive training: (anchor, positive with the same command, hard negative that differs a little).

Generated data: the hard negative's command differs from the anchor's in exactly ONE field of one call (the intent,
the target, or the value), found through an index of commands with one field masked; among prompts with that
command the one from the anchor's own template is preferred, so the two prompts differ only where the meaning does.
Imported (opaque) data: the hard negative is the train prompt most similar by character n-grams (TF-IDF cosine;
works for Chinese, which has no spaces) whose response differs.
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


def opaque_triplets(prompts: Sequence[str], commands: Sequence[str], seed: int,
                    ngram_range: tuple[int, int] = (2, 3), chunk: int = 512) -> list[dict]:
    """Triplets for commands we cannot parse: the negative is the most similar prompt with another command.

    Uses scikit-learn's TF-IDF over character n-grams and sparse products in chunks (a 10k x 10k similarity never
    sits in memory at once).
    """
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    rng = random.Random(f"{seed}:triplets")
    n = len(prompts)
    if n < 2:
        return []
    ids: dict[str, int] = {}
    resp = np.array([ids.setdefault(c, len(ids)) for c in commands])
    if len(ids) < 2:
        return []
    groups: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(resp.tolist()):
        groups[g].append(i)
    x = TfidfVectorizer(analyzer="char", ngram_range=ngram_range, lowercase=True).fit_transform(prompts)
    out = []
    for start in range(0, n, chunk):
        rows = np.arange(start, min(n, start + chunk))
        sims = (x[rows] @ x.T).toarray()
        sims[resp[rows][:, None] == resp[None, :]] = -1.0
        best = sims.argmax(axis=1)
        for a, neg in zip(rows.tolist(), best.tolist()):
            same = groups[int(resp[a])]
            if len(same) < 2:
                continue
            pos = a
            while pos == a:
                pos = rng.choice(same)
            out.append({"anchor": prompts[a], "positive": prompts[pos], "negative": prompts[neg],
                        "command": commands[a], "negative_command": commands[neg], "difference": "opaque",
                        "category": "imported"})
    return out
