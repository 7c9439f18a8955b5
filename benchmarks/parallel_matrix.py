"""Run a matrix benchmark's configurations as parallel processes and merge their results into one results folder.

    python benchmarks/parallel_matrix.py train_matrix --out OUT --jobs 8 --timeout 540 \\
        --configs llama-tiny:0.1:0:3000 t5-tiny:0:0:3000 ... -- --data DATA --device cuda --quiet

Small models leave one H100 mostly idle (each step is bound by kernel launches on one CPU core), so several
trainings side by side finish in about the time of one. Every configuration runs as
`python benchmarks/SCRIPT.py --configs NAME --out OUT/parts/NAME ARGS...` under its own wall-clock limit; the rows
of the parts that finished are merged in the order given and written with the script's own `save()` (results.json,
results.md, plot), so the merged folder looks exactly like a sequential run's. A part killed by its limit is
listed under `skipped` with the reason, never dropped silently.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent))


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "-", name)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    rest: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, rest = argv[:cut], argv[cut + 1:]
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("script", choices=["train_matrix", "compress_matrix"])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--configs", nargs="+", required=True)
    p.add_argument("--jobs", type=int, default=4)
    p.add_argument("--timeout", type=float, default=540.0, help="seconds per configuration")
    args = p.parse_args(argv)

    parts = args.out / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    pending = list(args.configs)
    running: dict[str, tuple[subprocess.Popen, float]] = {}
    status: dict[str, str] = {}
    t0 = time.perf_counter()
    while pending or running:
        while pending and len(running) < args.jobs:
            name = pending.pop(0)
            cmd = [sys.executable, str(ROOT / f"{args.script}.py"), "--configs", name,
                   "--out", str(parts / _safe(name)), *rest]
            log = open(parts / f"{_safe(name)}.log", "w", encoding="utf-8")
            running[name] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), time.perf_counter())
            print(f"[{time.perf_counter() - t0:6.0f}s] start {name}", flush=True)
        time.sleep(1.0)
        for name, (proc, started) in list(running.items()):
            if proc.poll() is not None:
                status[name] = "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
            elif time.perf_counter() - started > args.timeout:
                proc.kill()
                proc.wait()
                status[name] = f"killed after {args.timeout:.0f}s"
            else:
                continue
            del running[name]
            print(f"[{time.perf_counter() - t0:6.0f}s] {status[name]:<18} {name}", flush=True)

    module = importlib.import_module(args.script)
    merged: dict | None = None
    for name in args.configs:
        path = parts / _safe(name) / "results.json"
        if not path.is_file():
            if merged is not None:
                merged["skipped"].append(f"{name} ({status.get(name)})")
            continue
        part = json.loads(path.read_text(encoding="utf-8"))
        if merged is None:
            merged = {**part, "runs": [], "skipped": []}
            merged["command"] = shlex.join([sys.executable, *sys.argv])
            merged["parallel"] = {"jobs": args.jobs, "timeout_s": args.timeout, "part_commands": []}
            merged["skipped"] += [f"{n} ({status.get(n)})" for n in args.configs[:args.configs.index(name)]]
        merged["runs"] += part["runs"]
        merged["skipped"] += part.get("skipped", [])
        merged["parallel"]["part_commands"].append(part["command"])
        if status.get(name) != "ok":
            merged["skipped"].append(f"{name} (part incomplete: {status.get(name)})")
    if merged is None:
        print("no configuration finished; logs under", parts, file=sys.stderr)
        return 1
    merged["parallel"]["wall_seconds"] = time.perf_counter() - t0
    module.save(merged, args.out)
    print(f"merged {len(merged['runs'])} rows into {args.out / 'results.json'}")
    return 0 if all(s == "ok" for s in status.values()) else 3


if __name__ == "__main__":
    sys.exit(main())
