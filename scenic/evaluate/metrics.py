"""The evaluation metrics, defined once: EM@1 / EM@5 on normalised strings, validity, semantic match, per-category
breakdown and a confusion summary of what goes wrong. `compute_report` is pure (records + predictions in, dict out)."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import Any, Sequence

from scenic.commands import CommandParseError, parse, validate
from scenic.commands.language import TARGET_SLOTS

# Kinds of a wrong top-1, most severe first. `format`: same calls but a different string (slot/call order, spacing
# that normalisation keeps); `opaque`: the gold is not a parseable command, so only EM can say it is wrong.
CONFUSION_KINDS = ("unparseable", "call_count", "intent", "target", "value", "format", "opaque")
TOP_K = 5
_WS = re.compile(r"\s+")


def normalize_command(text: str) -> str:
    """NFKC (full-width digits, compatibility forms) and whitespace runs collapsed, ends stripped."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def exact_match(predicted: str, gold: str) -> bool:
    return normalize_command(predicted) == normalize_command(gold)


def try_parse(text: str):
    try:
        return parse(text)
    except CommandParseError:
        return None


def classify_error(gold_calls, pred_calls) -> str:
    """Why a top-1 is wrong, comparing parsed calls (gold must have parsed)."""
    if pred_calls is None:
        return "unparseable"
    if Counter(gold_calls) == Counter(pred_calls):
        return "format"
    if len(gold_calls) != len(pred_calls):
        return "call_count"
    pairs = list(zip(gold_calls, pred_calls))
    if any(g.intent != p.intent for g, p in pairs):
        return "intent"

    def part(call, targets: bool) -> dict:
        return {k: v for k, v in call.slots.items() if (k in TARGET_SLOTS) == targets}

    if any(part(g, True) != part(p, True) for g, p in pairs):
        return "target"
    return "value"


def _rate(hits: Sequence[bool | None]) -> float | None:
    vals = [h for h in hits if h is not None]
    return sum(vals) / len(vals) if vals else None


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "n": len(rows),
        "em1": _rate([r["em1"] for r in rows]),
        "em5": _rate([r["em5"] for r in rows]),
        "validity": _rate([r["valid"] for r in rows]),
        "semantic": _rate([r["semantic"] for r in rows]),
    }


def score_one(record: dict[str, Any], predictions: Sequence[str], home=None) -> dict[str, Any]:
    """Per-example outcome: em1, em5, valid (None when the gold is opaque), semantic (same), error kind."""
    gold = record["command"]
    preds = list(predictions)
    top1 = preds[0] if preds else ""
    g = normalize_command(gold)
    normed = [normalize_command(p) for p in preds[:TOP_K]]
    em1 = bool(normed) and normed[0] == g
    em5 = g in normed
    gold_calls = try_parse(gold)
    if gold_calls is None:
        valid = semantic = None
        kind = None if em1 else "opaque"
    else:
        pred_calls = try_parse(top1)
        valid = pred_calls is not None and (home is None or not validate(pred_calls, home))
        semantic = pred_calls is not None and Counter(pred_calls) == Counter(gold_calls)
        kind = None if em1 else classify_error(gold_calls, pred_calls)
    return {"prompt": record["prompt"], "gold": gold, "predicted": top1, "category": record.get("category", "unknown"),
            "em1": em1, "em5": em5, "valid": valid, "semantic": semantic, "error": kind}


def compute_report(records: Sequence[dict[str, Any]], predictions: Sequence[Sequence[str]], home=None,
                   max_examples: int = 10, rows_out: list | None = None) -> dict[str, Any]:
    """Metrics for `predictions[i]` (best first) against `records[i]["command"]`.

    Validity = the top-1 parses and, when `home` is given, passes `validate` against it; semantic = the top-1's calls
    equal the gold's as a multiset (slot order ignored). Both are None for opaque (non-parseable) golds.
    `rows_out`, when given, receives the per-example outcomes (for `write_predictions`).
    """
    if len(records) != len(predictions):
        raise ValueError(f"{len(records)} records but {len(predictions)} predictions")
    rows = [score_one(r, p, home) for r, p in zip(records, predictions)]
    if rows_out is not None:
        rows_out.extend(rows)
    report = _summary(rows)
    report["validity_against_home"] = home is not None
    report["opaque"] = sum(r["valid"] is None for r in rows)
    cats: dict[str, list] = {}
    for r in rows:
        cats.setdefault(r["category"], []).append(r)
    report["per_category"] = {c: _summary(cats[c]) for c in sorted(cats)}
    wrong = [r for r in rows if not r["em1"]]
    counts = Counter(r["error"] for r in wrong)
    examples: dict[str, list] = {}
    for r in wrong:
        bucket = examples.setdefault(r["error"], [])
        if len(bucket) < max_examples:
            bucket.append({k: r[k] for k in ("prompt", "gold", "predicted", "category")})
    report["confusion"] = {
        "wrong": len(wrong),
        "kinds": {k: counts[k] for k in CONFUSION_KINDS if counts[k]},
        "by_category": {c: dict(Counter(r["error"] for r in wrong if r["category"] == c)) for c in sorted(cats)
                        if any(r["category"] == c for r in wrong)},
        "examples": {k: examples[k] for k in CONFUSION_KINDS if k in examples},
    }
    return report
