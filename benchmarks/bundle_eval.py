"""Accuracy and size of distributable bundles, as a user receives them: unpack, verify, evaluate with the runtime.

    python benchmarks/bundle_eval.py BUNDLE.tar.zst... --data DATA --out OUT [--limit N] [--reference dense-fp32]

For bundles made by `scenic export` elsewhere (e.g. on the GPU machine, benchmarks/h100/): each is unpacked with
`scenic.runtime.bundle.unpack` (sha256 verified on load), scored by `scenic.evaluate.evaluate` with 5 beams on the
split, and its raw (unpacked) and bundle bytes recorded. Rows use export_matrix's format (model, variant
"onnx-<variant>", em1, em5, validity, raw_bytes, bundle_bytes, reductions against the reference bundle), so
make_results.py reads them like an export matrix. Writes OUT/results.json and OUT/results.md.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bundles", nargs="+", type=Path)
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--split", default="test")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--reference", default="dense-fp32", help="bundle name (file name without .tar.zst)")
    args = ap.parse_args(argv)

    from scenic.artifacts import environment_info, write_json_atomic, write_text_atomic
    from scenic.evaluate import evaluate
    from scenic.runtime import load
    from scenic.runtime.bundle import unpack

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for bundle in args.bundles:
            name = bundle.name.removesuffix(".tar.zst")
            model, _, variant = name.partition("-")
            folder = unpack(bundle, Path(tmp) / name)
            raw = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
            report = evaluate(load(folder), args.data, split=args.split, beams=5, limit=args.limit, progress=True)
            rows.append({"model": model, "variant": f"onnx-{variant}", "bundle": name, "em1": report["em1"],
                         "em5": report["em5"], "validity": report["validity"], "n": report["n"],
                         "per_category": {c: m["em1"] for c, m in report["per_category"].items()},
                         "raw_bytes": raw, "bundle_bytes": bundle.stat().st_size})
            print(f"{name}: EM@1 {100 * report['em1']:.2f} EM@5 {100 * report['em5']:.2f} raw {raw} bundle "
                  f"{bundle.stat().st_size}", flush=True)
    ref = next((r for r in rows if r["bundle"] == args.reference), None)
    for r in rows:
        for kind in ("raw", "bundle"):
            r[f"{kind}_reduction"] = None if ref is None else 1 - r[f"{kind}_bytes"] / ref[f"{kind}_bytes"]
    results = {"command": shlex.join(["python", "benchmarks/bundle_eval.py", *(argv or sys.argv[1:])]),
               "reference": args.reference, "rows": rows, "environment": environment_info()}
    write_json_atomic(args.out / "results.json", results)
    lines = ["# Bundles", "", f"Command: `{results['command']}`", "",
             "| bundle | EM@1 | EM@5 | valid | n | raw MB | bundle MB | raw red. | bundle red. |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        red = [("n/m" if r[k] is None else f"{100 * r[k]:.1f}%") for k in ("raw_reduction", "bundle_reduction")]
        lines.append(f"| {r['bundle']} | {100 * r['em1']:.2f} | {100 * r['em5']:.2f} | {100 * r['validity']:.2f} | "
                     f"{r['n']} | {r['raw_bytes'] / 1e6:.2f} | {r['bundle_bytes'] / 1e6:.2f} | {red[0]} | {red[1]} |")
    write_text_atomic(args.out / "results.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
