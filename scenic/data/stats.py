"""Dataset statistics: counts per category and split, commands, prompts per command, length percentiles."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Mapping, Sequence

from scenic import ScenicError
from scenic.data.io import SPLITS, TRIPLETS, read_jsonl


def _percentiles(values: list[int], ps: Sequence[float]) -> dict[str, float]:
    import numpy as np

    if not values:
        return {f"p{p:g}": 0 for p in ps} | {"max": 0}
    arr = np.asarray(values)
    out = {f"p{p:g}": round(float(np.percentile(arr, p)), 1) for p in ps}
    out["max"] = int(arr.max())
    return out


# Chinese and Japanese write no spaces between words, so a whitespace split would call a whole sentence one word.
# Each Han, kana or Hangul character counts as one word instead (no segmenter needed for a length statistic).
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_WORD = re.compile(f"[{_CJK}]|[^\\s{_CJK}]+")


def word_count(text: str) -> int:
    """Whitespace-separated words, each CJK character counted as a word of its own."""
    return len(_WORD.findall(text))


def _length_fn(tokenizer: str | None):
    """Token counter: a tokenizer.json (file or folder holding one), else whitespace words and characters."""
    if tokenizer is None:
        return None
    from tokenizers import Tokenizer

    path = Path(tokenizer)
    if path.is_dir():
        path = path / "tokenizer.json"
    if not path.is_file():
        raise ScenicError(f"{tokenizer}: no tokenizer.json there")
    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as err:  # tokenizers raises a bare Exception on a malformed file
        raise ScenicError(f"{path}: not a tokenizer.json ({err})") from None
    return lambda texts: [len(e.ids) for e in tok.encode_batch(list(texts), add_special_tokens=False)]


def rows_stats(splits: Mapping[str, Sequence[Mapping]], tokenizer: str | None = None,
               percentiles: Sequence[float] = (50, 90, 99)) -> dict:
    """Statistics of in-memory split rows (what `dataset_stats` computes after reading the files)."""
    count_tokens = _length_fn(tokenizer)
    all_rows = [r for rows in splits.values() for r in rows]
    out: dict = {"splits": {}, "total": {}}
    for split, rows in splits.items():
        out["splits"][split] = {
            "examples": len(rows),
            "categories": dict(sorted(Counter(r.get("category", "?") for r in rows).items())),
            "distinct_commands": len({r["command"] for r in rows}),
        }
    per_cmd = Counter(r["command"] for r in all_rows)
    counts = sorted(per_cmd.values())
    out["total"] = {
        "examples": len(all_rows),
        "categories": dict(sorted(Counter(r.get("category", "?") for r in all_rows).items())),
        "distinct_commands": len(per_cmd),
        "distinct_prompts": len({r["prompt"] for r in all_rows}),
        "prompts_per_command": {
            "min": counts[0] if counts else 0,
            "median": float(_percentiles(counts, [50])["p50"]) if counts else 0,
            "mean": round(len(all_rows) / len(per_cmd), 2) if per_cmd else 0,
            "max": counts[-1] if counts else 0,
        },
    }
    prompts = [r["prompt"] for r in all_rows]
    commands = [r["command"] for r in all_rows]
    lengths: dict = {"unit": "tokens" if count_tokens else "words"}
    if count_tokens:
        lengths["prompt"] = _percentiles(count_tokens(prompts), percentiles)
        lengths["command"] = _percentiles(count_tokens(commands), percentiles)
    else:
        lengths["prompt"] = _percentiles([word_count(p) for p in prompts], percentiles)
        lengths["command"] = _percentiles([word_count(c) for c in commands], percentiles)
    lengths["prompt_chars"] = _percentiles([len(p) for p in prompts], percentiles)
    lengths["command_chars"] = _percentiles([len(c) for c in commands], percentiles)
    out["lengths"] = lengths
    return out


def dataset_stats(path: str | Path, tokenizer: str | None = None, percentiles: Sequence[float] = (50, 90, 99)) -> dict:
    """Statistics of a dataset folder (its three splits and triplets) or of one JSONL file."""
    path = Path(path)
    if path.is_dir():
        missing = [s for s in SPLITS if not (path / f"{s}.jsonl").is_file()]
        if len(missing) == len(SPLITS):
            raise ScenicError(f"{path}: no train/val/test.jsonl (not a dataset folder)")
        splits = {s: read_jsonl(path / f"{s}.jsonl") for s in SPLITS if s not in missing}
    elif path.is_file():
        splits = {path.stem: read_jsonl(path)}
    else:
        raise ScenicError(f"{path}: no such file or folder")
    for split, rows in splits.items():
        for i, r in enumerate(rows, 1):
            if not isinstance(r, dict) or not isinstance(r.get("prompt"), str) or not isinstance(r.get("command"), str):
                raise ScenicError(f"{path}: {split} record {i}: needs string fields 'prompt' and 'command'")
    out = {"path": str(path), **rows_stats(splits, tokenizer, percentiles)}
    if path.is_dir() and (path / TRIPLETS).is_file():
        out["triplets"] = len(read_jsonl(path / TRIPLETS))
    return out
