"""Training throughput of the main job's preset with torch's default thread count vs SCENIC's thread policy.

    python benchmarks/threads.py [--recipe recipes/quickstart.yaml] [--steps 40] [--rounds 3]
        [--out benchmarks/results/threads]

The data and train sections of the recipe (the README's main job) are used as they are, except for the number of
steps, no validation and no checkpoints. Each run is a fresh child process, so each starts with its library's
defaults: "torch default" passes `threads=torch.get_num_threads()` as a fresh process reports it (what training
used before the policy), "policy" passes nothing (scenic.threads decides from the cores available: affinity,
cgroup quota and, on a whole machine, the load average). The two alternate, `--rounds` times, so both see the same
machine load; each run records the threads it used and the load average when it started.

Writes OUT/results.json, OUT/results.md and OUT/threads.png.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = """
import json, os, sys, torch
from scenic.pipeline import load_recipe
from scenic.threads import thread_info
from scenic.train import train
recipe, data, out, steps, mode = sys.argv[1:6]
default = torch.get_num_threads()
cfg = load_recipe(recipe).train.model_copy(update={"data": data, "out": out, "max_steps": int(steps),
                                                   "eval_examples": 0, "checkpoint_every": 0})
load = os.getloadavg()[0]
train(cfg, progress=False, force=True, threads=default if mode == "torch default" else None)
summary = json.load(open(os.path.join(out, "train_log.json")))["summary"]
print(json.dumps({"mode": mode, "torch_default_threads": default, "threads": torch.get_num_threads(),
                  "policy": thread_info(), "load_at_start": round(load, 2), "steps": summary["steps"],
                  "train_seconds": summary["train_seconds"],
                  "steps_per_second": summary["steps"] / summary["train_seconds"]}))
"""

MODES = ("torch default", "policy")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipe", type=Path, default=ROOT / "recipes/quickstart.yaml")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/threads")
    args = ap.parse_args(argv)

    from scenic.artifacts import environment_info, write_results
    from scenic.data import generate_dataset
    from scenic.pipeline import load_recipe

    cfg = load_recipe(args.recipe)
    load_before = [round(x, 2) for x in os.getloadavg()]
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        generate_dataset(cfg.data, data)
        for r in range(args.rounds):
            for mode in (MODES if r % 2 == 0 else MODES[::-1]):  # alternate which goes first
                proc = subprocess.run([sys.executable, "-c", CHILD, str(args.recipe), str(data),
                                       str(Path(tmp) / "model"), str(args.steps), mode],
                                      capture_output=True, text=True, cwd=ROOT)
                if proc.returncode != 0:
                    raise SystemExit(proc.stderr[-2000:])
                run = json.loads(proc.stdout.strip().splitlines()[-1]) | {"round": r}
                runs.append(run)
                print(json.dumps(run), flush=True)
    summary = {}
    for mode in MODES:
        sps = [x["steps_per_second"] for x in runs if x["mode"] == mode]
        summary[mode] = {"median_steps_per_second": round(statistics.median(sps), 3),
                         "runs_steps_per_second": [round(v, 3) for v in sps],
                         "threads": sorted({x["threads"] for x in runs if x["mode"] == mode})}
    summary["policy_over_default"] = round(summary["policy"]["median_steps_per_second"]
                                           / summary["torch default"]["median_steps_per_second"], 2)
    results = {"command": " ".join(shlex.quote(a) for a in [sys.executable.split("/")[-1], *sys.argv]),
               "recipe": str(args.recipe), "steps": args.steps, "environment": environment_info(),
               "load_before": load_before, "load_after": [round(x, 2) for x in os.getloadavg()],
               "summary": summary, "runs": runs}
    write_results(args.out, results, to_markdown(results), plot(results), "threads.png")
    print(to_markdown(results))
    return 0


def to_markdown(r: dict) -> str:
    env, s = r["environment"], r["summary"]
    lines = ["# Training throughput: torch's default threads vs the thread policy", "",
             f"- command: `{r['command']}`",
             f"- the train section of `{r['recipe']}`, {r['steps']} steps a run, no validation or checkpoints",
             f"- machine: {env.get('processor') or env.get('machine')}, {env.get('cpu_count')} CPUs; load average "
             f"before {r['load_before']}, after {r['load_after']} (a shared machine: other jobs ran alongside)", "",
             "| threads from | threads used | median steps/s | runs (steps/s) |", "|---|---|---|---|"]
    for mode in MODES:
        m = s[mode]
        lines.append(f"| {mode} | {', '.join(map(str, m['threads']))} | {m['median_steps_per_second']} | "
                     f"{', '.join(map(str, m['runs_steps_per_second']))} |")
    lines += ["", f"Policy / default: **{s['policy_over_default']}x** the steps per second.", "",
              "| round | threads from | threads | load at start | policy's reason | steps/s |",
              "|---|---|---|---|---|---|"]
    for x in r["runs"]:
        lines.append(f"| {x['round']} | {x['mode']} | {x['threads']} | {x['load_at_start']} | "
                     f"{x['policy']['source']} | {x['steps_per_second']:.3f} |")
    return "\n".join(lines) + "\n"


def plot(r: dict):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for i, mode in enumerate(MODES):
        xs = [x for x in r["runs"] if x["mode"] == mode]
        ax.bar([x["round"] + i * 0.4 for x in xs], [x["steps_per_second"] for x in xs], 0.4,
               label=f"{mode} ({', '.join(str(t) for t in r['summary'][mode]['threads'])} threads)")
    ax.set_xlabel("round")
    ax.set_ylabel("training steps / s")
    ax.set_title("main job's train preset on this machine")
    ax.legend()
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    raise SystemExit(main())
