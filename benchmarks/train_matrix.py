"""Train a matrix of (preset, lambda, seed, steps) configurations and evaluate each on the test split.

    python benchmarks/train_matrix.py --data DATA --out OUT [--device cuda] [--configs NAME|PRESET:LAMBDA:SEED:STEPS ...]

Writes OUT/results.json, OUT/results.md and OUT/em1.png (atomically, after every config, so a run cut short keeps
what it finished) and prints a short table last. Checkpoints go to OUT/runs/<name>/ (--keep-checkpoints) or are
deleted after evaluation. Defaults suit one H100 call of <= 10 minutes for the tiny presets (bf16, batch 256);
`--time-budget` skips configs that would start after the budget is spent.
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

# name -> (preset, triplet_lambda, seed, max_steps); steps None = --steps
MATRIX: dict[str, tuple[str, float, int, int | None]] = {
    "t5-tiny-l0.1": ("t5-tiny", 0.1, 0, None),
    "t5-tiny-l0": ("t5-tiny", 0.0, 0, None),
    "llama-tiny-l0.1": ("llama-tiny", 0.1, 0, None),
    "t5-small-l0.1": ("t5-small", 0.1, 0, None),
    "t5-small-l0": ("t5-small", 0.0, 0, None),
    "llama-small-l0.1": ("llama-small", 0.1, 0, None),
}
# One H100 call of <= 10 minutes: each tiny config takes about 3 minutes at 2000 steps of 256 (see results.json).
DEFAULT_CONFIGS = ["llama-tiny-l0.1", "llama-tiny-l0", "t5-tiny-l0.1"]


def parse_config(spec: str, default_steps: int) -> dict[str, Any]:
    """A MATRIX name, or PRESET:LAMBDA:SEED[:STEPS] for a configuration not in the table."""
    if spec in MATRIX:
        preset, lam, seed, steps = MATRIX[spec]
        name = spec
    else:
        parts = spec.split(":")
        if len(parts) not in (3, 4):
            raise SystemExit(f"--configs: '{spec}' is neither a known name ({', '.join(MATRIX)}) "
                             "nor PRESET:LAMBDA:SEED[:STEPS]")
        preset, lam, seed = parts[0], float(parts[1]), int(parts[2])
        steps = int(parts[3]) if len(parts) == 4 else None
        name = f"{preset}-l{lam:g}-s{seed}" + (f"-{steps}" if steps else "")
    return {"name": name, "preset": preset, "triplet_lambda": float(lam), "seed": int(seed),
            "max_steps": int(steps or default_steps)}


def overrides(args, spec: dict[str, Any]) -> list[str]:
    return [f"triplet_lambda={spec['triplet_lambda']}", f"warmup_steps={args.warmup_steps}",
            f"eval_every={args.eval_every}", f"eval_examples={args.eval_examples}",
            f"checkpoint_every={args.checkpoint_every}", *(args.set or [])]


def train_command(args, spec: dict[str, Any], out: Path) -> list[str]:
    """The exact `scenic train` command that reproduces one configuration."""
    cmd = ["scenic", "train", "--data", str(args.data), "--out", str(out), "--preset", spec["preset"],
           "--max-steps", str(spec["max_steps"]), "--batch-size", str(args.batch_size), "--lr", str(args.lr),
           "--seed", str(spec["seed"]), "--device", args.device]
    for item in overrides(args, spec):
        cmd += ["--set", item]
    return cmd


def run_one(args, spec: dict[str, Any], runs: Path) -> dict[str, Any]:
    from scenic.cli.common import build_config
    from scenic.evaluate import evaluate
    from scenic.train import TrainConfig, train
    from scenic.train.run import TRAIN_LOG

    out = runs / spec["name"]
    cmd = train_command(args, spec, out)
    cfg = build_config(TrainConfig, "train", None, {
        "data": args.data, "out": out, "preset": spec["preset"], "max_steps": spec["max_steps"],
        "batch_size": args.batch_size, "lr": args.lr, "seed": spec["seed"], "device": args.device,
    }, overrides(args, spec))
    t0 = time.perf_counter()
    train(cfg, progress=not args.quiet, force=True)
    wall_train = time.perf_counter() - t0
    summary = json.loads((out / TRAIN_LOG).read_text(encoding="utf-8"))["summary"]
    # only the wrong top-1s are kept next to the report: all 10k lines would be megabytes per run for nothing
    report = evaluate(out, data_dir=args.data, split="test", beams=5, num_return=5, batch_size=args.eval_batch_size,
                      limit=args.test_limit, device=args.device, progress=not args.quiet,
                      predictions_out=runs / f"{spec['name']}.errors.jsonl", predictions_wrong_only=True)
    row = {
        **spec, "batch_size": args.batch_size, "lr": args.lr, "parameters": summary["parameters"],
        "train_seconds": summary["train_seconds"], "train_wall_seconds": wall_train,
        "examples_per_second": summary["examples_per_second"], "best_step": summary["best_step"],
        "best_val_em": summary["best_val_em"], "triplet_coverage": summary.get("triplet_coverage"),
        "eval_seconds": report["settings"]["seconds"], "test_n": report["n"],
        "em1": report["em1"], "em5": report["em5"], "validity": report["validity"], "semantic": report["semantic"],
        "per_category": {c: {"n": m["n"], "em1": m["em1"], "em5": m["em5"]} for c, m in report["per_category"].items()},
        "confusion": report["confusion"]["kinds"], "device_name": summary["device_name"],
        "val_history": [h for h in json.loads((out / TRAIN_LOG).read_text(encoding="utf-8"))["history"]
                        if "val_em" in h],
        "seconds_total": time.perf_counter() - t0,
        "command": shlex.join(cmd),
    }
    (runs / f"{spec['name']}.report.json").write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    if not args.keep_checkpoints:
        shutil.rmtree(out, ignore_errors=True)
    return row


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}"


def to_markdown(results: dict[str, Any]) -> str:
    rows = results["runs"]
    cats = sorted({c for r in rows for c in r["per_category"]})
    head = ["config", "params", "lambda", "steps", "lr", "train s", "val EM", "EM@1", "EM@5", "valid", "semantic"] + \
        [f"{c} EM@1" for c in cats]
    lines = ["# Training matrix", "", f"- data: `{results['data']}`; device: {results['device_name']}",
             f"- command: `{results['command']}`", f"- versions: " + ", ".join(
                 f"{k} {v}" for k, v in results["environment"].items() if k in ("torch", "transformers", "scenic")),
             "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["name"], f"{r['parameters'] / 1e6:.2f}M", f"{r['triplet_lambda']:g}", str(r["max_steps"]),
                 lr_text(r.get("lr")), f"{r['train_seconds']:.0f}", _pct(r["best_val_em"]), _pct(r["em1"]), _pct(r["em5"]),
                 _pct(r["validity"]), _pct(r["semantic"])]
        cells += [_pct(r["per_category"].get(c, {}).get("em1")) for c in cats]
        lines.append("| " + " | ".join(cells) + " |")
    lines += seed_summary_markdown(rows)
    if results.get("skipped"):
        lines += ["", "Not finished (time budget, memory or divergence; see the notes and logs): " + ", ".join(results["skipped"])]
    lines += [f"- {n}" for n in [""] + results.get("notes", []) if n] if results.get("notes") else []
    lines += ["", "Each row's exact training command is in results.json (`command`)."]
    return "\n".join(lines) + "\n"


def seed_summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and sample standard deviation of EM over seeds, for every (preset, lambda, steps, lr) run with 2+ seeds.

    The learning rate is part of the key: runs at two learning rates are two configurations, not two seeds of one.
    """
    import statistics

    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["preset"], r["triplet_lambda"], r["max_steps"], r.get("lr")), []).append(r)
    out = []
    for (preset, lam, steps, lr), rs in groups.items():
        if len({r["seed"] for r in rs}) < 2:
            continue
        em1, em5 = [100 * r["em1"] for r in rs], [100 * r["em5"] for r in rs]
        out.append({"preset": preset, "lambda": lam, "steps": steps, "lr": lr, "seeds": len(rs),
                    "em1_mean": statistics.mean(em1), "em1_std": statistics.stdev(em1),
                    "em5_mean": statistics.mean(em5), "em5_std": statistics.stdev(em5)})
    return out


def lr_text(lr: float | None) -> str:
    return "n/a" if lr is None else f"{lr:g}"


def seed_summary_markdown(rows: list[dict[str, Any]]) -> list[str]:
    """The across-seed table (preceded by a blank line), or nothing when no configuration has 2+ seeds."""
    summary = seed_summary(rows)
    if not summary:
        return []
    return ["", "Across seeds (mean ± sample std, test %):", "", "| preset | lambda | steps | lr | seeds | EM@1 | EM@5 |",
            "|---|---|---|---|---|---|---|"] + [
        f"| {g['preset']} | {g['lambda']:g} | {g['steps']} | {lr_text(g['lr'])} | {g['seeds']} | {g['em1_mean']:.2f} ± {g['em1_std']:.2f} "
        f"| {g['em5_mean']:.2f} ± {g['em5_std']:.2f} |" for g in summary]


def write_plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from scenic.artifacts import save_figure_atomic

    rows = results["runs"]
    fig, ax = plt.subplots(figsize=(max(4, 1.2 * len(rows) + 2), 3.6))
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], [100 * r["em1"] for r in rows], width=0.4, label="EM@1")
    ax.bar([x + 0.2 for x in xs], [100 * r["em5"] for r in rows], width=0.4, label="EM@5")
    ax.set_xticks(list(xs), [f"{r['name']}\n{r['parameters'] / 1e6:.1f}M" for r in rows], fontsize=8)
    ax.set_ylabel("test exact match (%)")
    low = min([100 * r["em1"] for r in rows] + [90])
    ax.set_ylim(max(0, low - 5), 100)
    ax.axhline(99.0, color="grey", linestyle="--", linewidth=0.8)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"{results['device_name']}", fontsize=9)
    fig.tight_layout()
    save_figure_atomic(fig, path)


def save(results: dict[str, Any], out: Path) -> None:
    from scenic.artifacts import write_json_atomic, write_text_atomic

    write_json_atomic(out / "results.json", results)
    write_text_atomic(out / "results.md", to_markdown(results))
    if results["runs"]:
        write_plot(results, out / "em1.png")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, required=True, help="dataset folder")
    p.add_argument("--out", type=Path, required=True, help="results folder")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--configs", nargs="+", default=DEFAULT_CONFIGS,
                   help=f"names ({', '.join(MATRIX)}) or PRESET:LAMBDA:SEED[:STEPS]; default: {' '.join(DEFAULT_CONFIGS)}")
    p.add_argument("--steps", type=int, default=2000, help="max_steps for configs that do not fix their own")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup-steps", type=int, default=200)
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--eval-examples", type=int, default=1000, help="validation examples for the periodic EM")
    p.add_argument("--checkpoint-every", type=int, default=0, help="resumable state saves (0: none, faster)")
    p.add_argument("--eval-batch-size", type=int, default=256)
    p.add_argument("--test-limit", type=int, default=None, help="evaluate only the first N test examples")
    p.add_argument("--set", action="append", help="extra TrainConfig override key=value (repeatable)")
    p.add_argument("--time-budget", type=float, default=None,
                   help="seconds; a config is skipped (and listed) when the time used plus the longest config so far "
                        "would exceed it (e.g. 540 inside a 10-minute device call)")
    p.add_argument("--keep-checkpoints", action="store_true")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)

    import torch

    from scenic.artifacts import environment_info
    from scenic.train.data import check_data_dir

    check_data_dir(args.data)
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    specs = [parse_config(s, args.steps) for s in args.configs]
    args.out.mkdir(parents=True, exist_ok=True)
    runs = args.out / "runs"
    runs.mkdir(exist_ok=True)
    device_name = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    results: dict[str, Any] = {
        "data": str(args.data), "device": args.device, "device_name": device_name,
        "command": shlex.join([sys.executable, *sys.argv]) if argv is None else shlex.join(argv),
        "environment": environment_info(), "settings": {k: str(v) if isinstance(v, Path) else v
                                                       for k, v in vars(args).items()},
        "runs": [], "skipped": [],
    }
    data_manifest = args.data / "manifest.json"
    if data_manifest.is_file():
        m = json.loads(data_manifest.read_text(encoding="utf-8"))
        results["data_summary"] = {k: m.get(k) for k in ("kind", "lang", "seed", "num_examples", "triplets",
                                                          "generator_version")}
    t_start = time.perf_counter()
    for spec in specs:
        longest = max((r["seconds_total"] for r in results["runs"]), default=0.0)
        if args.time_budget is not None and time.perf_counter() - t_start + longest > args.time_budget:
            results["skipped"].append(spec["name"])
            continue
        print(f"== {spec['name']}: {spec['preset']}, lambda {spec['triplet_lambda']:g}, seed {spec['seed']}, "
              f"{spec['max_steps']} steps", flush=True)
        results["runs"].append(run_one(args, spec, runs))
        results["environment"] = environment_info()  # now with torch/transformers imported
        save(results, args.out)
    save(results, args.out)
    print()
    print(f"{'config':<22}{'params':>9}{'train s':>9}{'EM@1':>8}{'EM@5':>8}{'valid':>8}")
    for r in results["runs"]:
        print(f"{r['name']:<22}{r['parameters'] / 1e6:>8.2f}M{r['train_seconds']:>9.0f}{_pct(r['em1']):>8}"
              f"{_pct(r['em5']):>8}{_pct(r['validity']):>8}")
    if results["skipped"]:
        print("skipped (time budget): " + ", ".join(results["skipped"]))
    print(f"results: {args.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
