"""Accuracy of a trained checkpoint after each compression: dense, magnitude 30/50/70 %, 2:4, structured 25/50 %,
each with and without recovery fine-tuning, and each again after INT8.

    python benchmarks/compress_matrix.py --model CKPT --data DATA --out OUT [--device cuda] [--recover-steps 500]
        [--configs dense mag50 2:4 ...] [--quant int8-static int8] [--test-limit N] [--time-budget S]

Every variant is a real `scenic.compress.compress` output folder, loaded back with CommandModel.load (so INT8 is
measured with its int8-rounded weights and, for int8-static, simulated activation quantization) and scored by
`scenic.evaluate.evaluate` on the test split with 5 beams (EM@1, EM@5, validity). Writes OUT/results.json,
OUT/results.md and OUT/accuracy_vs_sparsity.png atomically after every variant (a run cut short keeps what it
finished) and prints a short table last. Targets checked: 2:4 + INT8 within 0.5 EM@1 points of dense, 50 %
magnitude + INT8 within 1 point (both after recovery).
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# name -> CompressConfig keys of the pruning step
PRUNING: dict[str, dict[str, Any]] = {
    "dense": {},
    "mag30": {"sparsity": 0.3},
    "mag50": {"sparsity": 0.5},
    "mag70": {"sparsity": 0.7},
    "2:4": {"sparsity": "2:4"},
    "2:4-sparsegpt": {"sparsity": "2:4", "method": "modelopt-sparsegpt"},  # default only where modelopt imports
    "struct25": {"structured": 0.25},
    "struct50": {"structured": 0.5},
}
TARGETS = [("2:4", 0.5), ("2:4-sparsegpt", 0.5), ("mag50", 1.0)]  # (pruning, max EM@1 drop in points vs dense) after recovery + INT8


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}"


def compress_command(args, source: Path, out: Path, keys: dict[str, Any]) -> list[str]:
    """The `scenic compress` command line equivalent to one variant."""
    cmd = ["scenic", "compress", str(source), "--out", str(out), "--device", args.device, "--overwrite"]
    for k, v in keys.items():
        if k in ("sparsity", "structured", "recover_steps", "data", "quant"):
            cmd += [f"--{k.replace('_', '-')}", str(v)]
        else:
            cmd += ["--set", f"{k}={v}"]
    return cmd


def run_variant(args, name: str, source: Path, out: Path, keys: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    """Compress `source` with `keys` into `out` (or use `source` as is for no keys) and evaluate it."""
    from scenic.compress import CompressConfig, compress
    from scenic.evaluate import evaluate

    seconds, report = 0.0, None
    folder = source
    if keys:
        t0 = time.perf_counter()
        folder = compress(source, out, CompressConfig(**keys, device=args.device), progress=not args.quiet,
                          force=True)
        seconds = time.perf_counter() - t0
        report = json.loads((folder / "compression.json").read_text(encoding="utf-8"))
    ev = evaluate(folder, data_dir=args.data, split="test", beams=5, num_return=5, batch_size=args.eval_batch_size,
                  limit=args.test_limit, device=args.device, progress=not args.quiet)
    row = {"name": name, "em1": ev["em1"], "em5": ev["em5"], "validity": ev["validity"], "n": ev["n"],
           "compress_seconds": round(seconds, 2), "eval_seconds": round(ev["settings"]["seconds"], 2),
           "command": shlex.join(compress_command(args, source, out, keys)) if keys else None}
    return folder, {**row, "report": report}


def describe(stage1: dict[str, Any] | None, params_dense: int) -> dict[str, Any]:
    """Sparsity and size numbers of a pruning report (measured, not requested)."""
    if stage1 is None:
        return {"sparsity": 0.0, "whole_model_sparsity": 0.0, "parameters": params_dense, "removed": 0.0}
    sp = stage1["sparsity"]
    params = stage1["parameters"]["after"]
    removed = sp["pruned_layers"] if sp["pruned_layers"] is not None else 1 - params / params_dense
    return {"sparsity": sp["pruned_layers"], "whole_model_sparsity": sp["whole_model"], "parameters": params,
            "removed": removed}


def to_markdown(results: dict[str, Any]) -> str:
    rows = results["runs"]
    dense = next((r for r in rows if r["name"] == "dense"), None)
    head = ["variant", "pruning", "recovery", "quant", "params", "pruned-layer sparsity", "EM@1", "EM@5", "valid",
            "Δ EM@1 vs dense (pts)"]
    env = results["environment"]
    lines = ["# Compression matrix", "",
             f"- model: `{results['model']}`; data: `{results['data']}` (test split, 5 beams)",
             f"- device: {results['device_name']}; recovery: {results['settings']['recover_steps']} steps, "
             f"batch {results['settings']['batch_size']}, lr {results['settings']['lr']}",
             "- versions: " + ", ".join(f"{k} {env.get(k)}" for k in ("scenic", "torch", "transformers", "modelopt")),
             f"- command: `{results['command']}`", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        delta = "" if dense is None else f"{100 * (r['em1'] - dense['em1']):+.2f}"
        sp = r["sparsity"]
        lines.append("| " + " | ".join([
            r["name"], r["pruning"], "yes" if r["recovered"] else "no", r["quant"] or "-",
            f"{r['parameters'] / 1e6:.2f}M", "-" if sp is None else f"{100 * sp:.1f}%",
            _pct(r["em1"]), _pct(r["em5"]), _pct(r["validity"]), delta]) + " |")
    if results.get("targets"):
        lines += ["", "Targets (after recovery, EM@1 drop vs dense):"]
        for t in results["targets"]:
            got = "not run" if t["drop_points"] is None else f"{t['drop_points']:.2f} pts"
            verdict = "" if t["met"] is None else (" — met" if t["met"] else " — NOT met")
            lines.append(f"- {t['variant']}: {got} (limit {t['limit_points']} pts){verdict}")
    if results.get("skipped"):
        lines += ["", "Not run (time budget): " + ", ".join(results["skipped"])]
    lines += ["", "Each variant's exact `scenic compress` command is in results.json (`command`)."]
    return "\n".join(lines) + "\n"


def write_plot(results: dict[str, Any], path: Path) -> None:
    """One panel per precision (float, then each quantization); a line per pruning family, solid with recovery."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from scenic.artifacts import save_figure_atomic

    rows = results["runs"]
    quants = [None] + [q for q in results["settings"]["quant"] if any(r["quant"] == q for r in rows)]
    fig, axes = plt.subplots(1, len(quants), figsize=(4.2 * len(quants), 3.8), sharey=True, squeeze=False)
    families = {"magnitude": ("mag", "tab:blue"), "2:4": ("2:4", "tab:green"),
                "2:4 SparseGPT": ("2:4-sparsegpt", "tab:purple"), "structured": ("struct", "tab:red")}
    exact = {"2:4", "2:4-sparsegpt"}  # matched by name; the others by prefix
    for ax, quant in zip(axes[0], quants):
        dense = next((r for r in rows if r["pruning"] == "dense" and r["quant"] == quant), None)
        for family, (prefix, color) in families.items():
            for recovered in (False, True):
                pts = [(100 * r["removed"], 100 * r["em1"]) for r in rows
                       if (r["pruning"] == prefix if prefix in exact else r["pruning"].startswith(prefix))
                       and r["recovered"] == recovered and r["quant"] == quant]
                if not pts:
                    continue
                if dense is not None:
                    pts.append((0.0, 100 * dense["em1"]))
                pts.sort()
                ax.plot([p[0] for p in pts], [p[1] for p in pts], "-" if recovered else ":", color=color, marker="o",
                        markersize=4, label=f"{family}{' + recovery' if recovered else ''}")
        ax.set_title(quant or "float32", fontsize=9)
        ax.set_xlabel("weights removed (%)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test EM@1 (%)")
    if axes[0][0].get_legend_handles_labels()[0]:
        axes[0][0].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"{Path(results['model']).name} on {results['device_name']} "
                 "(x: pruned-layer sparsity; structured: parameter reduction)", fontsize=9)
    fig.tight_layout()
    save_figure_atomic(fig, path)


def check_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = {r["name"]: r for r in results["runs"]}
    dense = rows.get("dense")
    out = []
    for pruning, limit in TARGETS:
        for quant in results["settings"]["quant"]:
            name = f"{pruning}+rec+{quant}"
            r = rows.get(name)
            drop = None if (r is None or dense is None) else 100 * (dense["em1"] - r["em1"])
            out.append({"variant": name, "limit_points": limit, "drop_points": drop,
                        "met": None if drop is None else drop <= limit})
    return out


def save(results: dict[str, Any], out: Path) -> None:
    from scenic.artifacts import write_json_atomic, write_text_atomic

    results["targets"] = check_targets(results)
    write_json_atomic(out / "results.json", results)
    write_text_atomic(out / "results.md", to_markdown(results))
    if results["runs"]:
        write_plot(results, out / "accuracy_vs_sparsity.png")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, required=True, help="trained checkpoint folder")
    p.add_argument("--data", type=Path, required=True, help="dataset folder (train for recovery/calibration, test)")
    p.add_argument("--out", type=Path, required=True, help="results folder")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--configs", nargs="+", default=None, choices=list(PRUNING), metavar="NAME",
                   help=f"pruning variants ({', '.join(PRUNING)}); default: all (2:4-sparsegpt only where "
                        "nvidia-modelopt imports)")
    p.add_argument("--quant", nargs="*", default=["int8-static"], choices=["int8", "int8-static", "fp16"],
                   help="quantization applied after each variant (default int8-static; none: no quantized rows)")
    p.add_argument("--recover-steps", type=int, default=500)
    p.add_argument("--batch-size", type=int, default=128, help="recovery batch size")
    p.add_argument("--lr", type=float, default=3e-4, help="recovery peak learning rate")
    p.add_argument("--eval-batch-size", type=int, default=256)
    p.add_argument("--test-limit", type=int, default=None, help="evaluate only the first N test examples")
    p.add_argument("--time-budget", type=float, default=None, help="seconds; variants not started within it are skipped")
    p.add_argument("--keep-checkpoints", action="store_true")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)

    import torch

    from scenic.artifacts import environment_info
    from scenic.models import CommandModel
    from scenic.train.data import check_data_dir

    check_data_dir(args.data)
    if args.configs is None:
        from scenic.compress.modelopt_sparsity import modelopt_available

        args.configs = [k for k in PRUNING if k != "2:4-sparsegpt" or modelopt_available()]
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    args.out.mkdir(parents=True, exist_ok=True)
    runs = args.out / "runs"
    runs.mkdir(exist_ok=True)
    params_dense = CommandModel.load(args.model).num_parameters

    def env() -> dict[str, Any]:
        info = environment_info()
        try:
            from importlib.metadata import version

            info["modelopt"] = version("nvidia-modelopt")
        except Exception:
            info["modelopt"] = None
        return info

    results: dict[str, Any] = {
        "model": str(args.model), "data": str(args.data), "device": args.device,
        "device_name": torch.cuda.get_device_name() if args.device == "cuda" else "cpu",
        "command": shlex.join([sys.executable, *sys.argv]) if argv is None else shlex.join(argv),
        "environment": env(), "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "runs": [], "skipped": [],
    }
    recovery = {"recover_steps": args.recover_steps, "data": args.data, "batch_size": args.batch_size, "lr": args.lr}
    t_start = time.perf_counter()

    def over_budget() -> bool:
        return args.time_budget is not None and time.perf_counter() - t_start > args.time_budget

    for pruning in args.configs:
        for recovered in ([False] if pruning == "dense" else [False, True]):
            name = pruning + ("+rec" if recovered else "")
            if over_budget():
                results["skipped"] += [name] + [f"{name}+{q}" for q in args.quant]
                continue
            print(f"== {name}", flush=True)
            keys = {**PRUNING[pruning], **(recovery if recovered else {})}
            if keys.get("method") == "modelopt-sparsegpt":
                keys["data"] = args.data  # its calibration batches
            folder, row = run_variant(args, name, args.model, runs / name.replace(":", "-"), keys)
            stage1 = row.pop("report")
            shape = describe(stage1, params_dense)
            results["runs"].append({**row, "pruning": pruning, "recovered": recovered, "quant": None, **shape,
                                    "recovery": (stage1 or {}).get("recovery")})
            results["environment"] = env()
            save(results, args.out)
            for q in args.quant:
                qname = f"{name}+{q}"
                if over_budget():
                    results["skipped"].append(qname)
                    continue
                print(f"== {qname}", flush=True)
                qkeys = {"quant": q, **({"data": args.data} if q == "int8-static" else {})}
                _, qrow = run_variant(args, qname, folder, runs / qname.replace(":", "-"), qkeys)
                qreport = qrow.pop("report")
                results["runs"].append({**qrow, "pruning": pruning, "recovered": recovered, "quant": q, **shape,
                                        "quantized_layers": (qreport["quantization"] or {}).get("num_layers")})
                save(results, args.out)
                if not args.keep_checkpoints:
                    shutil.rmtree(runs / qname.replace(":", "-"), ignore_errors=True)
            if not args.keep_checkpoints and folder != args.model:
                shutil.rmtree(folder, ignore_errors=True)
    save(results, args.out)
    print()
    print(f"{'variant':<30}{'params':>9}{'sparsity':>10}{'EM@1':>8}{'EM@5':>8}{'valid':>8}")
    for r in results["runs"]:
        sp = "-" if r["sparsity"] is None else f"{100 * r['sparsity']:.1f}%"
        print(f"{r['name']:<30}{r['parameters'] / 1e6:>8.2f}M{sp:>10}{_pct(r['em1']):>8}{_pct(r['em5']):>8}"
              f"{_pct(r['validity']):>8}")
    for t in results["targets"]:
        got = "not run" if t["drop_points"] is None else f"{t['drop_points']:+.2f} pts drop"
        print(f"target {t['variant']}: {got} (limit {t['limit_points']}){'' if t['met'] is None else ' met' if t['met'] else ' NOT met'}")
    if results["skipped"]:
        print("skipped (time budget): " + ", ".join(results["skipped"]))
    print(f"results: {args.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
