"""Typos and ASR-like noise on a finished prompt, mild enough that the command stays recoverable.

At most one typo per prompt, never in numbers, value words or the first letter of a word; ASR noise swaps
homophones from the language pack ("lights" -> "lites") or drops an article. Noisy prompts are lowercase without
punctuation, as speech recognisers and hurried typists produce them.
"""

from __future__ import annotations

import random
import re

from scenic.data.lang import LanguagePack

_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS: dict[str, str] = {}
for _row in _KEYBOARD_ROWS:
    for _i, _ch in enumerate(_row):
        _NEIGHBOURS[_ch] = _row[max(0, _i - 1):_i] + _row[_i + 1:_i + 2]
_STRIP = re.compile(r"[^\w\s'°%]")


def strip_punctuation(text: str) -> str:
    return " ".join(_STRIP.sub(" ", text.lower()).split())


def _is_number(word: str, pack: LanguagePack) -> bool:
    return any(ch.isdigit() for ch in word) or word in pack.protected


def typo(text: str, rng: random.Random, pack: LanguagePack) -> str | None:
    """One character slip (swap, drop, double, neighbouring key) in one word of 4+ letters; None if none fits."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha() and not _is_number(w, pack)]
    if not candidates:
        return None
    i = rng.choice(candidates)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    op = rng.randrange(4)
    if op == 0:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    elif op == 1:
        w = w[:j] + w[j + 1:]
    elif op == 2:
        w = w[:j] + w[j] + w[j:]
    else:
        near = _NEIGHBOURS.get(w[j], "")
        w = w[:j] + (rng.choice(near) if near else w[j]) + w[j + 1:]
    if w == words[i]:
        w = words[i][:j] + words[i][j + 1:]
    words[i] = w
    return " ".join(words)


def asr(text: str, rng: random.Random, pack: LanguagePack) -> str | None:
    """One or two homophone swaps or a dropped article; None if nothing in the prompt lends itself."""
    words = text.split(" ")
    subs = [i for i, w in enumerate(words) if w in pack.homophones and w not in pack.protected]
    drops = [i for i, w in enumerate(words) if w in pack.droppable and 0 < i < len(words) - 1]
    if not subs and not drops:
        return None
    changed = False
    for _ in range(1 + (rng.random() < 0.3)):
        if subs and (not drops or rng.random() < 0.7):
            i = rng.choice(subs)
            new = rng.choice(pack.homophones[words[i]])
            near_number = any(_is_number(words[k], pack) for k in (i - 1, i + 1) if 0 <= k < len(words))
            if new.split()[0] in pack.protected and near_number:
                continue
            words[i] = new
            subs.remove(i)
            changed = True
        elif drops:
            i = rng.choice(drops)
            words[i] = ""
            drops.remove(i)
            changed = True
    return " ".join(w for w in words if w) if changed else None


def add_noise(text: str, rng: random.Random, pack: LanguagePack) -> tuple[str, str] | None:
    """(noisy prompt, kind) with kind `asr`, `typo` or `asr+typo`; None when the prompt offers nothing to garble."""
    base = strip_punctuation(text)
    r = rng.random()
    if r < 0.4:
        out = asr(base, rng, pack)
        kind = "asr"
        if out is None:
            out, kind = typo(base, rng, pack), "typo"
    elif r < 0.75:
        out, kind = typo(base, rng, pack), "typo"
    else:
        first = asr(base, rng, pack)
        out = typo(first, rng, pack) if first is not None else None
        kind = "asr+typo"
        if out is None:
            out, kind = typo(base, rng, pack), "typo"
    if out is None or out == base:
        return None
    return out, kind
