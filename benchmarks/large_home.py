"""A 10,000-entity home: data generation and schema-constrained decoding on it, with latency percentiles.

    python benchmarks/large_home.py [--entities 10000] [--examples 500] [--requests 300]
        [--out benchmarks/results/large-home]

The home is made here (deterministic, written into OUT/home.yaml's temporary twin): 500 areas on 10 floors, each
area 20 entities drawn from office / home device kinds, half of them with a name shared across areas ("Ceiling
Light", as real homes have) and half with a unique name ("Desk Lamp 4821"), some with aliases. Then:

1. `data generate` of `--examples` examples for it, in a child process: wall seconds and peak RSS.
2. A t5-micro trained briefly on data for it (its tokenizer learns the home's words) and exported to ONNX; then
   `--requests` test prompts decoded one at a time (batch 1, greedy) unconstrained and schema-constrained against
   the home, interleaved, after one warm-up request: p50 / p90 / p99 / max latency (wall clock, and the process's
   CPU time, which other jobs on a shared machine do not inflate), and p99 / p50. Each code version decodes in one
   long-lived child process, as a deployed runtime would (its caches warm over the requests; the warm-up request,
   which builds the grammar, is reported apart); with `--before-src DIR` (a copy of the code before this work, e.g.
   `git archive <commit>`), the old runtime decodes the same prompts on the same export, request by request in
   alternation with the new one.

Writes OUT/results.json, OUT/results.md and OUT/latency.png. The model's accuracy is beside the point here (a few
hundred steps); the decoding work per request is what is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KINDS = [  # (domain, shared name, unique stem, attributes)
    ("light", "Ceiling Light", "Desk Lamp", {"brightness": True}),
    ("light", "Wall Lights", "Reading Light", {"brightness": True, "color": True}),
    ("switch", "Coffee Maker", "Outlet", {}),
    ("switch", "Fountain", "Heater Plug", {}),
    ("fan", "Ceiling Fan", "Desk Fan", {"speed": True}),
    ("cover", "Blinds", "Shutter", {"device_class": "blind", "position": True}),
    ("climate", "Thermostat", "Radiator", {"min_temp": 16, "max_temp": 28}),
    ("media_player", "Speaker", "Display", {"volume": True}),
    ("lock", "Door Lock", "Cabinet Lock", {}),
    ("valve", "Water Valve", "Sprinkler Valve", {}),
]
WINGS = ["North", "South", "East", "West", "Central"]
ROOMS = ["Office", "Meeting Room", "Lab", "Studio", "Lounge", "Storage", "Workshop", "Library", "Kitchen", "Suite"]


def make_home(entities: int = 10_000, per_area: int = 20, floors: int = 10, seed: int = 0) -> dict:
    rng = random.Random(seed)
    n_areas = max(1, entities // per_area)
    home = {"name": f"Large Home {entities}", "floors": [{"name": f"Level {i + 1}", "id": f"level_{i + 1}"}
                                                          for i in range(floors)],
            "areas": [], "entities": []}
    unique = 0
    for a in range(n_areas):
        aid = f"area_{a:04d}"
        name = f"{WINGS[a % len(WINGS)]} {ROOMS[(a // len(WINGS)) % len(ROOMS)]} {a // (len(WINGS) * len(ROOMS)) + 1}"
        home["areas"].append({"name": name, "id": aid, "floor": f"level_{a % floors + 1}"})
        used: set[str] = set()
        for k in range(per_area):
            domain, shared, stem, attrs = KINDS[k % len(KINDS)]
            if k < len(KINDS) and shared not in used:
                ename = shared
            else:
                unique += 1
                ename = f"{stem} {unique}"
            used.add(ename)
            ent = {"name": ename, "id": f"{domain}.{aid}_{k}", "area": aid, "attributes": dict(attrs)}
            if rng.random() < 0.05:
                ent["aliases"] = [f"{ename} alias {unique}"]
            home["entities"].append(ent)
            if len(home["entities"]) >= entities:
                return home
    return home


def percentiles(xs: list[float]) -> dict[str, float]:
    import numpy as np

    a = np.asarray(xs) * 1000.0
    out = {f"p{p}": round(float(np.percentile(a, p)), 2) for p in (50, 90, 99)}
    out["max"] = round(float(a.max()), 2)
    out["mean"] = round(float(a.mean()), 2)
    out["p99_over_p50"] = round(out["p99"] / out["p50"], 2)
    return out


def timed_generate(home_path: Path, examples: int, out: Path, src: Path | None = None) -> dict:
    """`generate_dataset` in a child process (the code under `src` when given): wall seconds and its peak RSS."""
    code = (("import sys; sys.path.insert(0, %r); " % str(src) if src else "") +
            "import json, resource, sys, time; from scenic.data import GenerateConfig, generate_dataset; "
            f"t = time.perf_counter(); generate_dataset(GenerateConfig(home={str(home_path)!r}, "
            f"num_examples={examples}, seed=0), {str(out)!r}); w = time.perf_counter() - t; "
            "print(json.dumps({'wall_seconds': w, 'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss"
            " / 1024}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


CHILD = """
import json, sys, time
src, export, home = sys.argv[1:4]
if src != "-":
    sys.path.insert(0, src)
import scenic.runtime as runtime
from scenic.homes import load_home
assert src == "-" or runtime.__file__.startswith(src)
predictor = runtime.load(export, home=load_home(home), threads=1)
for line in sys.stdin:  # one prompt a line (JSON); answers one JSON line of timings each
    prompt = json.loads(line)
    out = {}
    for mode in ("unconstrained", "constrained"):  # interleaved, so both see the same machine load
        w, c = time.perf_counter(), time.process_time()
        predictor.generate([prompt], constrained=mode == "constrained")
        out[mode] = [time.perf_counter() - w, time.process_time() - c]
    print(json.dumps(out), flush=True)
"""


class Decoder:
    """A long-lived child process decoding one prompt at a time with the code under `src` (None: this checkout),
    as a deployed runtime would: its caches warm up over the requests."""

    def __init__(self, src: Path | None, export: Path, home: Path):
        self.proc = subprocess.Popen([sys.executable, "-c", CHILD, str(src) if src else "-", str(export), str(home)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)

    def time(self, prompt: str) -> dict:
        self.proc.stdin.write(json.dumps(prompt) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"decoder child died (exit {self.proc.wait()})")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def summarise(first: float, rows: list[dict]) -> dict:
    out = {"first_request_seconds": round(first, 3)}
    for mode in ("unconstrained", "constrained"):
        out[mode] = {"wall": percentiles([r[mode][0] for r in rows]), "cpu": percentiles([r[mode][1] for r in rows])}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entities", type=int, default=10_000)
    ap.add_argument("--examples", type=int, default=500)
    ap.add_argument("--train-examples", type=int, default=3000)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--before-src", type=Path, help="a copy of the code before this work, measured alongside")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/large-home")
    args = ap.parse_args(argv)

    import yaml

    from scenic.artifacts import environment_info, write_results
    from scenic.threads import apply_threads

    apply_threads(None)
    load_before = os.getloadavg()
    home = make_home(args.entities)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        home_path = tmp / "home.yaml"
        home_path.write_text(yaml.safe_dump(home, sort_keys=False), encoding="utf-8")
        gen = timed_generate(home_path, args.examples, tmp / "gen")
        print(f"generate {args.examples}: {gen}", flush=True)
        if args.before_src is not None:
            gen_before = timed_generate(home_path, args.examples, tmp / "gen-before", args.before_src)
            print(f"generate {args.examples} before: {gen_before}", flush=True)
        decode = _decode(home_path, tmp, args)
    results = {
        "command": " ".join(shlex.quote(a) for a in [sys.executable.split("/")[-1], *sys.argv]),
        "environment": environment_info(), "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "home": {"entities": len(home["entities"]), "areas": len(home["areas"]), "floors": len(home["floors"]),
                 "distinct_names": len({e["name"] for e in home["entities"]})},
        "generate": {"examples": args.examples, **{k: round(v, 2) for k, v in gen.items()}},
        "decode": {"requests": args.requests, "batch": 1, "beams": 1, "threads": 1, **decode["after"]},
    }
    if args.before_src is not None:
        results["before"] = {"source": str(args.before_src),
                             "generate": {k: round(v, 2) for k, v in gen_before.items()}, "decode": decode["before"]}
    write_results(args.out, results, to_markdown(results), plot(results), "latency.png")
    print(to_markdown(results))
    return 0


def _decode(home_path: Path, tmp: Path, args) -> dict:
    from scenic.data import GenerateConfig, generate_dataset, load_split
    from scenic.export import ExportConfig, export
    from scenic.train import TrainConfig, train

    data = tmp / "data"
    generate_dataset(GenerateConfig(home=str(home_path), num_examples=args.train_examples, seed=1), data)
    train(TrainConfig(data=data, out=tmp / "model", preset="t5-micro", max_steps=args.steps, batch_size=32,
                      lr=3e-3, warmup_steps=20, eval_examples=0, checkpoint_every=0, examples="pairs", device="cpu"),
          progress=False)
    export(tmp / "model", tmp / "export", ExportConfig(int8=False, bundle="none"))
    prompts = [r["prompt"] for r in load_split(data, "test")][: args.requests]
    codes = {"after": None} if args.before_src is None else {"before": args.before_src, "after": None}
    decoders = {name: Decoder(src, tmp / "export", home_path) for name, src in codes.items()}
    first = {}
    for name, d in decoders.items():  # warm-up: builds the grammar for the home and the first masks
        t = time.perf_counter()
        d.time(prompts[0])
        first[name] = time.perf_counter() - t
    rows: dict[str, list[dict]] = {name: [] for name in decoders}
    for i, prompt in enumerate(prompts):
        for name in (list(decoders) if i % 2 == 0 else list(decoders)[::-1]):  # old and new code alternate
            rows[name].append(decoders[name].time(prompt))
        if (i + 1) % 100 == 0:
            print(f"decoded {i + 1} / {len(prompts)}", flush=True)
    for d in decoders.values():
        d.close()
    return {name: summarise(first[name], rows[name]) for name in decoders}


def to_markdown(r: dict) -> str:
    env, d, g, b = r["environment"], r["decode"], r["generate"], r.get("before")
    lines = ["# Large home: generation and constrained decoding", "",
             f"- command: `{r['command']}`",
             f"- machine: {env.get('processor') or env.get('machine')} x{env.get('cpu_count')}, threads "
             f"{env.get('threads')} ({env.get('thread_policy', {}).get('source')}); load average before "
             f"{r['load_before']}, after {r['load_after']}",
             f"- home: {r['home']['entities']} entities, {r['home']['areas']} areas, {r['home']['floors']} floors, "
             f"{r['home']['distinct_names']} distinct names",
             f"- `data generate` of {g['examples']} examples: {g['wall_seconds']} s wall, peak RSS "
             f"{g['peak_rss_mb']} MB",
             f"- first constrained request (builds the grammar for the home, not in the percentiles): "
             f"{d['first_request_seconds']} s" + (f"; before: {b['decode']['first_request_seconds']} s" if b else ""),
             *([f"- before (`{b['source']}`): `data generate` {b['generate']['wall_seconds']} s, peak RSS "
                f"{b['generate']['peak_rss_mb']} MB"] if b else []), "",
             f"Latency per request (batch 1, greedy, one onnxruntime thread, {d['requests']} test prompts, "
             "unconstrained and constrained interleaved; old and new code alternating request by request), ms:", "",
             "| code | decoding | clock | p50 | p90 | p99 | max | p99 / p50 |", "|---|---|---|---|---|---|---|---|"]
    for code, dd in (("before", b["decode"] if b else None), ("after", d)):
        if dd is None:
            continue
        for mode in ("unconstrained", "constrained"):
            for clock in ("wall", "cpu"):
                s = dd[mode][clock]
                lines.append(f"| {code} | {mode} | {clock} | {s['p50']} | {s['p90']} | {s['p99']} | {s['max']} | "
                             f"{s['p99_over_p50']} |")
    return "\n".join(lines) + "\n"


def plot(r: dict):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.8))
    series = [("after", m, r["decode"][m]["wall"]) for m in ("unconstrained", "constrained")]
    if r.get("before"):
        series.insert(0, ("before", "constrained", r["before"]["decode"]["constrained"]["wall"]))
    keys = ["p50", "p90", "p99", "max"]
    width = 0.8 / len(series)
    for i, (code, m, s) in enumerate(series):
        ax.bar([k + i * width for k in range(len(keys))], [s[k] for k in keys], width, label=f"{code}: {m}")
    ax.set_xticks([k + width * (len(series) - 1) / 2 for k in range(len(keys))], keys)
    ax.set_ylabel("ms per request (wall)")
    ax.set_title(f"{r['home']['entities']}-entity home, batch 1 greedy")
    ax.legend()
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    raise SystemExit(main())
