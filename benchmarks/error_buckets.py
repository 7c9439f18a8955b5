"""Where a model's remaining test errors come from: wrong top-1s grouped by phrasing pattern, then by category.

    python benchmarks/error_buckets.py --errors RUN.errors.jsonl --data DATA --out OUT \\
        --bucket 'draw=\\bdraw\\b(?! back)' --bucket 'send it home=send it home'

RUN.errors.jsonl is what train_matrix keeps per run (`scenic evaluate --predictions` writes the same lines for every
example). A bucket is NAME=REGEX over the lower-cased prompt; the first matching bucket wins, the rest fall into their
category. For every bucket it reports the test examples it covers, how many of them are wrong, how many train prompts
match the pattern (0 = a phrasing the model never saw), and EM@1 over the test split with the bucket left out: how much
of the gap to a target one kind of phrasing explains.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scenic.artifacts import environment_info, save_figure_atomic, write_json_atomic, write_text_atomic  # noqa: E402
from scenic.train.data import load_split  # noqa: E402


def parse_bucket(text: str) -> tuple[str, re.Pattern]:
    name, sep, pattern = text.partition("=")
    if not sep or not name or not pattern:
        raise SystemExit(f"--bucket {text!r}: expected NAME=REGEX")
    try:
        return name, re.compile(pattern)
    except re.error as err:
        raise SystemExit(f"--bucket {text!r}: bad regular expression ({err})") from None


def bucket_of(row: dict[str, Any], buckets: list[tuple[str, re.Pattern]]) -> str:
    prompt = row["prompt"].lower()
    return next((name for name, rx in buckets if rx.search(prompt)), f"other {row.get('category', 'unknown')}")


def analyse(errors: list[dict[str, Any]], test: list[dict[str, Any]], train: list[dict[str, Any]],
            buckets: list[tuple[str, re.Pattern]]) -> dict[str, Any]:
    test_n: dict[str, int] = {}
    for r in test:
        b = bucket_of(r, buckets)
        test_n[b] = test_n.get(b, 0) + 1
    wrong: dict[str, list] = {}
    for e in errors:
        wrong.setdefault(bucket_of(e, buckets), []).append(e)
    total_wrong, total = len(errors), len(test)
    rows = []
    for name in sorted(test_n, key=lambda b: -len(wrong.get(b, []))):
        w, n = len(wrong.get(name, [])), test_n[name]
        rx = dict(buckets).get(name)
        rows.append({
            "bucket": name, "test_n": n, "wrong": w, "em1_in_bucket": 1 - w / n,
            "share_of_errors": w / total_wrong if total_wrong else 0.0,
            "train_matches": None if rx is None else sum(bool(rx.search(r["prompt"].lower())) for r in train),
            "em1_without_bucket": 1 - (total_wrong - w) / (total - n) if total > n else None,
            "examples": [{k: e[k] for k in ("prompt", "gold")} | {"predicted": e["predictions"][0]}
                         for e in wrong.get(name, [])[:5]],
        })
    return {"test_n": total, "wrong": total_wrong, "em1": 1 - total_wrong / total, "buckets": rows}


def bucket_table(res: dict[str, Any]) -> list[str]:
    """The summary line and the bucket table: in this script's results.md and in RESULTS.md (make_results)."""
    lines = [f"{res['wrong']} wrong top-1 of {res['test_n']} test examples (EM@1 {100 * res['em1']:.2f}%).", "",
             "| bucket | test n | wrong | EM@1 in bucket | share of errors | train prompts matching | "
             "EM@1 without bucket |", "|---|---|---|---|---|---|---|"]
    for b in res["buckets"]:
        train = "" if b["train_matches"] is None else str(b["train_matches"])
        without = "" if b["em1_without_bucket"] is None else f"{100 * b['em1_without_bucket']:.2f}"
        lines.append(f"| {b['bucket']} | {b['test_n']} | {b['wrong']} | {100 * b['em1_in_bucket']:.2f} | "
                     f"{100 * b['share_of_errors']:.1f}% | {train} | {without} |")
    return lines


def to_markdown(res: dict[str, Any]) -> str:
    lines = ["# Error buckets", "", f"- errors: `{res['errors']}`; data: `{res['data']}`",
             f"- command: `{res['command']}`", "", *bucket_table(res), "", "Examples (prompt / gold / predicted):", ""]
    for b in res["buckets"]:
        for e in b["examples"][:3]:
            lines.append(f"- **{b['bucket']}**: `{e['prompt']}` / `{e['gold']}` / `{e['predicted']}`")
    return "\n".join(lines) + "\n"


def write_plot(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = res["buckets"]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(rows) + 1.2))
    ax.barh([b["bucket"] for b in rows][::-1], [b["wrong"] for b in rows][::-1])
    ax.set_xlabel(f"wrong top-1 (of {res['wrong']})")
    ax.set_title(f"Where the errors are (EM@1 {100 * res['em1']:.2f}%)")
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--errors", type=Path, required=True, help="a run's errors.jsonl (or a --predictions file)")
    p.add_argument("--data", type=Path, required=True, help="the dataset folder the run was evaluated on")
    p.add_argument("--split", default="test")
    p.add_argument("--bucket", action="append", default=[], help="NAME=REGEX over the lower-cased prompt")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    buckets = [parse_bucket(b) for b in args.bucket]
    lines = [json.loads(x) for x in args.errors.read_text(encoding="utf-8").splitlines() if x.strip()]
    errors = [x for x in lines if not x["em1"]]  # a full --predictions file holds the right ones too
    res = analyse(errors, load_split(args.data, args.split), load_split(args.data, "train"), buckets)
    res |= {"errors": str(args.errors), "data": str(args.data), "split": args.split,
            "command": shlex.join(["python", "benchmarks/error_buckets.py", *(argv or sys.argv[1:])]),
            "environment": environment_info()}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.out / "results.json", res)
    write_text_atomic(args.out / "results.md", to_markdown(res))
    write_plot(res, args.out / "errors.png")
    print(to_markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
