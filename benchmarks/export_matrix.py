"""Accuracy, size and latency of exported checkpoints: PyTorch vs ONNX FP32 vs ONNX INT8 (dynamic and QDQ).

    python benchmarks/export_matrix.py --models DENSE_CKPT SPARSE_2_4_CKPT [SPARSE_2_4_INT8_CKPT] --data DATA --out OUT
        [--reference DENSE_CKPT] [--split test] [--limit N] [--beams 5] [--latency-prompts 32]

Each checkpoint is exported with `scenic.export.export(..., ExportConfig(int8=True), data=DATA)` (FP32, INT8
dynamic, INT8 QDQ, one bundle per variant) and every form is scored by `scenic.evaluate.evaluate` on the split
with 5 beams (EM@1, EM@5, validity); the INT8-dynamic export is scored once more with schema-constrained decoding.
Sizes are the raw export of a variant (graphs + tokenizer + home + export.json) and its zstd bundle; reductions
are against the reference's dense FP32 export (default: the first model without 2:4 sparsity). Latency is
milliseconds per command at batch 1 (greedy, greedy constrained, 5 beams) on this machine's CPU.
Writes OUT/results.json, OUT/results.md and OUT/export_matrix.png atomically after every model and prints a short
table last. Published SCENIC size reduction: 25.38 %; aims here: 75 % raw and 85 % bundled for 2:4 + INT8.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PUBLISHED_REDUCTION = 0.2538
AIMS = {"raw": 0.75, "bundle": 0.85}
VARIANTS = ["fp32", "int8-dynamic", "int8-qdq"]


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}"


def label_of(ckpt: Path) -> str:
    """dense / 2:4 / 2:4+int8, from compression.json (what the compress stage measured)."""
    from scenic.export.sparsity import claims_2to4

    path = ckpt / "compression.json"
    if not path.is_file():
        return "dense"
    report = json.loads(path.read_text(encoding="utf-8"))
    label = "2:4" if claims_2to4(report) else "pruned" if report.get("pruning") else "dense"
    return label + ("+int8" if report.get("quantization") else "")


class Constrained:
    """The evaluate protocol over a runtime predictor with schema-constrained decoding switched on."""

    def __init__(self, predictor):
        self.predictor = predictor
        self.info = {**predictor.info, "constrained": True}

    def generate(self, prompts, num_beams=1, num_return=1, batch_size=64):
        return self.predictor.generate(prompts, num_beams=num_beams, num_return=num_return, batch_size=batch_size,
                                       constrained=True)

    def home(self):
        return self.predictor.home()


def latency_ms(predictor, prompts: list[str], **kw) -> float:
    """Median milliseconds per command, batch 1, after one warm-up call."""
    predictor.generate(prompts[:1], **kw)
    times = []
    for p in prompts:
        t0 = time.perf_counter()
        predictor.generate([p], **kw)
        times.append(1000 * (time.perf_counter() - t0))
    times.sort()
    return times[len(times) // 2]


def run_model(args, ckpt: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from scenic.evaluate import evaluate
    from scenic.export import ExportConfig, export
    from scenic.models import CommandModel
    import scenic.runtime as runtime

    name, label = ckpt.name, label_of(ckpt)
    out = Path(args.out) / "exports" / name
    t0 = time.perf_counter()
    result = export(ckpt, out, ExportConfig(int8=True), data=args.data, progress=True)
    export_s = time.perf_counter() - t0
    ev = dict(split=args.split, beams=args.beams, limit=args.limit, progress=True)
    prompts = [json.loads(line)["prompt"] for line in
               (Path(args.data) / f"{args.split}.jsonl").read_text(encoding="utf-8").splitlines()[:args.latency_prompts]]
    rows = []

    def row(variant: str, report: dict[str, Any], predictor=None, **extra) -> dict[str, Any]:
        r = {"model": name, "label": label, "variant": variant, "em1": report["em1"], "em5": report["em5"],
             "validity": report["validity"], "n": report["n"], **extra}
        if predictor is not None:
            r["ms_greedy"] = latency_ms(predictor, prompts)
            r["ms_beam5"] = latency_ms(predictor, prompts, num_beams=5, num_return=5)
        rows.append(r)
        return r

    print(f"[{name}] PyTorch", flush=True)
    row("pytorch", evaluate(CommandModel.load(ckpt, device="cpu"), args.data, device="cpu", **ev))
    for v in VARIANTS:
        print(f"[{name}] ONNX {v}", flush=True)
        predictor = runtime.load(out, variant=v)
        entry = result.manifest["variants"][v]
        row(f"onnx-{v}", evaluate(predictor, args.data, **ev), predictor, raw_bytes=entry["raw_bytes"],
            bundle_bytes=entry["bundle"]["bytes"], parity=result.manifest["parity"][v])
    print(f"[{name}] ONNX int8-dynamic, constrained", flush=True)
    predictor = runtime.load(out, variant="int8-dynamic")
    r = row("onnx-int8-dynamic+constrained", evaluate(Constrained(predictor), args.data, **ev))
    r["ms_greedy"] = latency_ms(predictor, prompts, constrained=True)
    r["ms_beam5"] = latency_ms(predictor, prompts, num_beams=5, num_return=5, constrained=True)
    meta = {"model": name, "label": label, "checkpoint": str(ckpt), "export": str(out), "export_seconds": export_s,
            "sparse_2to4_weights": result.manifest["sparsity"]["source_2to4_weights"],
            "sparsity_exact": result.manifest["sparsity"]["variants"],
            "command": shlex.join(["scenic", "export", str(ckpt), "--onnx", "--int8", "--data", str(args.data),
                                   "--out", str(out)])}
    return rows, meta


def add_reductions(rows: list[dict[str, Any]], reference_bytes: int | None) -> None:
    for r in rows:
        for kind in ("raw", "bundle"):
            b = r.get(f"{kind}_bytes")
            r[f"{kind}_reduction"] = None if b is None or not reference_bytes else 1 - b / reference_bytes


def to_markdown(results: dict[str, Any]) -> str:
    lines = ["# Export matrix", "", f"Reference (dense FP32 export): {results['reference']['model']} "
             f"({results['reference']['bytes']} bytes). Published SCENIC reduction: {_pct(PUBLISHED_REDUCTION)} %; "
             f"aims for 2:4 + INT8: {_pct(AIMS['raw'])} % raw, {_pct(AIMS['bundle'])} % bundled.", "",
             "| model | label | form | EM@1 % | EM@5 % | valid % | raw MB | bundle MB | raw red. % | bundle red. % "
             "| ms greedy | ms beam5 |", "|" + "---|" * 12]
    for r in results["rows"]:
        mb = lambda k: "" if r.get(k) is None else f"{r[k] / 1e6:.2f}"  # noqa: E731
        ms = lambda k: "" if r.get(k) is None else f"{r[k]:.1f}"  # noqa: E731
        lines.append(f"| {r['model']} | {r['label']} | {r['variant']} | {_pct(r['em1'])} | {_pct(r['em5'])} | "
                     f"{_pct(r['validity'])} | {mb('raw_bytes')} | {mb('bundle_bytes')} | "
                     f"{_pct(r.get('raw_reduction')) if r.get('raw_bytes') else ''} | "
                     f"{_pct(r.get('bundle_reduction')) if r.get('bundle_bytes') else ''} | {ms('ms_greedy')} | "
                     f"{ms('ms_beam5')} |")
    lines += ["", "Commands:", ""] + [f"    {m['command']}" for m in results["models"]]
    lines += ["", f"Environment: {json.dumps(results['environment'])}", ""]
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from scenic.artifacts import save_figure_atomic

    sized = [r for r in results["rows"] if r.get("raw_bytes")]
    names = [f"{r['label']}\n{r['variant'].removeprefix('onnx-')}" for r in sized]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(max(8, 1.2 * len(sized) + 4), 4.5))
    x = range(len(sized))
    ax1.bar([i - 0.2 for i in x], [r["raw_bytes"] / 1e6 for r in sized], 0.4, label="raw")
    ax1.bar([i + 0.2 for i in x], [r["bundle_bytes"] / 1e6 for r in sized], 0.4, label="bundle (zstd)")
    ax1.set_xticks(list(x), names, fontsize=7)
    ax1.set_ylabel("MB")
    ax1.set_title("export size")
    ax1.legend()
    ax2.bar(list(x), [100 * (r["em1"] or 0) for r in sized], 0.6)
    ax2.set_xticks(list(x), names, fontsize=7)
    ax2.set_ylabel("EM@1 %")
    ax2.set_title(f"accuracy ({results['settings']['split']} split)")
    fig.tight_layout()
    save_figure_atomic(fig, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", required=True, type=Path, help="checkpoint folders")
    ap.add_argument("--data", required=True, type=Path, help="dataset folder (parity, calibration, evaluation)")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--reference", type=Path, help="dense checkpoint whose FP32 export is the size reference")
    ap.add_argument("--split", default="test")
    ap.add_argument("--limit", type=int, default=None, help="evaluate only the first N examples")
    ap.add_argument("--beams", type=int, default=5)
    ap.add_argument("--latency-prompts", type=int, default=32)
    args = ap.parse_args(argv)

    from scenic.artifacts import environment_info, write_json_atomic, write_text_atomic

    args.out.mkdir(parents=True, exist_ok=True)
    models = list(args.models)
    if args.reference and args.reference not in models:
        models.insert(0, args.reference)
    results: dict[str, Any] = {"settings": {k: str(v) for k, v in vars(args).items()}, "rows": [], "models": [],
                               "reference": {"model": None, "bytes": None}, "published_reduction": PUBLISHED_REDUCTION,
                               "aims": AIMS, "environment": environment_info()}
    for ckpt in models:
        rows, meta = run_model(args, ckpt)
        results["rows"] += rows
        results["models"].append(meta)
        ref = args.reference or next((Path(m["checkpoint"]) for m in results["models"] if m["label"] == "dense"), None)
        ref_row = next((r for r in results["rows"] if ref is not None and r["model"] == ref.name
                        and r["variant"] == "onnx-fp32"), None)
        results["reference"] = {"model": ref_row and ref_row["model"], "bytes": ref_row and ref_row["raw_bytes"]}
        add_reductions(results["rows"], results["reference"]["bytes"])
        results["environment"] = environment_info()
        write_json_atomic(args.out / "results.json", results)
        write_text_atomic(args.out / "results.md", to_markdown(results))
        plot(results, args.out / "export_matrix.png")
    print(f"\n{'model':<18} {'form':<30} {'EM@1':>6} {'EM@5':>6} {'raw red.':>9} {'bundle red.':>12} {'ms':>7}")
    for r in results["rows"]:
        print(f"{r['model'][:18]:<18} {r['variant']:<30} {_pct(r['em1']):>6} {_pct(r['em5']):>6} "
              f"{_pct(r.get('raw_reduction')) if r.get('raw_bytes') else '':>9} "
              f"{_pct(r.get('bundle_reduction')) if r.get('bundle_bytes') else '':>12} "
              f"{'' if r.get('ms_greedy') is None else format(r['ms_greedy'], '.1f'):>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
