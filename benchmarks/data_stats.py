"""Generation time and statistics of the English Smart Home Instruct data, and of an imported dataset.

    python benchmarks/data_stats.py [--num-examples 100000] [--import-file ../shared/datasets/scenic-zh/train.json]
        [--out benchmarks/results/data]

Times `generate_dataset` (wall and CPU seconds) on this machine, then reads back what `scenic data stats` prints:
counts per split and category, distinct commands, prompts per command, prompt-length percentiles, the exact-prompt
overlap between splits (must be zero) and the triplets. Writes OUT/results.json and OUT/results.md.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def summary(manifest: dict, stats: dict, wall: float, cpu: float) -> dict:
    keep = ("kind", "seed", "num_examples", "counts", "triplets", "overlap", "generator_version", "records",
            "repeats_dropped", "conflicts_dropped", "source_sha256")
    return {"wall_seconds": wall, "cpu_seconds": cpu, "manifest": {k: manifest.get(k) for k in keep if k in manifest},
            "stats": stats}


def to_markdown(results: dict) -> str:
    lines = ["# Data statistics", "", f"- command: `{results['command']}`",
             f"- machine: {results['environment'].get('processor')} x{results['environment'].get('cpu_count')}, "
             f"load average before {results['load_before']}", ""]
    for name, r in results["datasets"].items():
        st = r["stats"]
        lines += [f"## {name}", "", f"- time: {r['wall_seconds']:.1f} s wall, {r['cpu_seconds']:.1f} s CPU",
                  f"- split sizes: " + ", ".join(f"{s} {v['examples']}" for s, v in st["splits"].items()),
                  f"- distinct commands: {st['total']['distinct_commands']}",
                  f"- prompts per command: {st['total']['prompts_per_command']}",
                  f"- prompt length ({st['lengths']['unit']}): {st['lengths']['prompt']}",
                  f"- exact-prompt overlap between splits: {r['manifest'].get('overlap')}",
                  f"- triplets: {r['manifest'].get('triplets')}", ""]
        cats = sorted({c for v in st["splits"].values() for c in v.get("categories", {})})
        if cats:
            lines += ["| split | " + " | ".join(cats) + " |", "|---|" + "---|" * len(cats)]
            for s, v in st["splits"].items():
                lines.append(f"| {s} | " + " | ".join(str(v.get("categories", {}).get(c, 0)) for c in cats) + " |")
            lines.append("")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--num-examples", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--import-file", type=Path, default=None, help="a SCENIC-format JSON file to import as well")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "data")
    args = p.parse_args(argv)

    from scenic.artifacts import environment_info, write_json_atomic, write_text_atomic
    from scenic.data import GenerateConfig, ImportConfig, dataset_stats, generate_dataset, import_dataset

    results = {"command": shlex.join(["python", "benchmarks/data_stats.py", *(argv or sys.argv[1:])]),
               "environment": environment_info(), "load_before": os.getloadavg()[0], "datasets": {}}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "en"
        manifest, wall, cpu = timed(lambda: generate_dataset(
            GenerateConfig(num_examples=args.num_examples, seed=args.seed), out))
        results["datasets"][f"generated-en-{args.num_examples}"] = summary(manifest, dataset_stats(out), wall, cpu)
        if args.import_file:
            out = Path(tmp) / "imported"
            manifest, wall, cpu = timed(lambda: import_dataset(ImportConfig(file=str(args.import_file)), out))
            results["datasets"][f"imported-{args.import_file.name}"] = summary(manifest, dataset_stats(out), wall, cpu)
    write_json_atomic(args.out / "results.json", results)
    write_text_atomic(args.out / "results.md", to_markdown(results))
    print(to_markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
