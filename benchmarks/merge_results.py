"""Merge the results.json of several runs of one matrix benchmark (e.g. device calls made one after another) into
one results folder, rewritten by the script's own `save()`.

    python benchmarks/merge_results.py train_matrix --out benchmarks/results/train A/results.json B/results.json \\
        [--note "why some configurations are missing"]

Rows keep their own command, device and environment (each part's are copied into every row as `source`), so a
merged table never hides that its rows came from different calls or machines.
"""

from __future__ import annotations

import argparse
import importlib
import json
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent))


def unfinished(script: str, skipped: list[str], finished: set[str]) -> list[str]:
    """Failures that no later part made up for, once each: a configuration that died in one device call and
    finished in another is a row, not a gap (its failed attempt stays in that call's logs)."""
    name_of = (lambda spec: importlib.import_module(script).parse_config(spec, 0)["name"]) \
        if script == "train_matrix" else (lambda spec: spec)
    out: dict[str, str] = {}
    for entry in skipped:
        spec = entry.split(" (")[0]
        if name_of(spec) not in finished:
            out.setdefault(spec, entry)
    return list(out.values())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("script", choices=["train_matrix", "compress_matrix"])
    p.add_argument("parts", nargs="+", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--note", action="append", default=[])
    args = p.parse_args(argv)
    merged: dict | None = None
    for path in args.parts:
        part = json.loads(path.read_text(encoding="utf-8"))
        source = {"results": str(path), "command": part.get("command"), "device_name": part.get("device_name"),
                  "environment": part.get("environment")}
        rows = [{**r, "source": source} for r in part["runs"]]
        if merged is None:
            merged = {**part, "runs": [], "skipped": [], "merged_from": []}
        merged["runs"] += rows
        merged["skipped"] += part.get("skipped", [])
        merged["merged_from"].append(source)
    assert merged is not None
    merged["skipped"] = unfinished(args.script, merged["skipped"], {r["name"] for r in merged["runs"]})
    devices = sorted({s["device_name"] for s in merged["merged_from"] if s["device_name"]})
    merged["device_name"] = " + ".join(devices)
    merged["command"] = shlex.join(["python", "benchmarks/merge_results.py", *(argv or sys.argv[1:])])
    merged["notes"] = args.note
    importlib.import_module(args.script).save(merged, args.out)
    print(f"merged {len(merged['runs'])} rows from {len(args.parts)} files into {args.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
