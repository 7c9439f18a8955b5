"""`scenic serve` under load on 127.0.0.1, side by side with the bare runtime call it wraps, in one run.

    python benchmarks/serve_load.py --model EXPORT [--variant int8-dynamic] [--requests 1000] [--clients 8]
                                    [--threads 1] [--out benchmarks/results/serve]

1. A real `scenic serve --wyoming` process is started on the export (constrained greedy decoding, as served).
2. Overhead, interleaved so that the machine's other work hits both alike: `--requests` bare runtime calls in this
   process (`predictor.predict([text], constrained=True)`, exactly what the server calls) and `--requests` Wyoming
   transcripts from one client over loopback, alternating request by request. Reported: p50/p99 of each, the
   difference of the p50s, and the p50 of the per-request overhead (client round trip minus the model time the
   server logged for that request).
3. Load: `--requests` transcripts from `--clients` concurrent clients (one connection each, requests back to back),
   with p50/p99 round trip, throughput, errors (error events, dropped connections) and answers that differ from the
   bare runtime's for the same request (must be 0 both).

Requests cycle through REQUESTS (ordinary default-home requests). onnxruntime gets `--threads` threads in both the
server and the bare calls. Writes results.json, results.md and latency.png under --out, with machine and versions.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REQUESTS = [
    "turn on the kitchen ceiling light", "turn off the kitchen ceiling light", "switch on the coffee maker",
    "set the bedside lamp to 40 percent", "make the garden lights blue", "set the study heater to 21 degrees",
    "open the garage door", "pause the tv", "what is the meaning of life", "turn off all lights in the living room",
    "lock the front door and turn off the hallway light", "start the vacuum in the study",
]
_LOG = re.compile(r"wyoming req=(\d+) .* model_ms=([\d.]+) total_ms=([\d.]+)")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _stats(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50_ms": round(_pct(values, 50), 3), "p90_ms": round(_pct(values, 90), 3),
            "p99_ms": round(_pct(values, 99), 3), "mean_ms": round(sum(values) / len(values), 3)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _summary(events) -> tuple[str, ...]:
    """An answer as comparable data: the intents with their slots, or the not-recognized reason."""
    out = []
    for e in events:
        if e.type == "intent":
            out.append((e.data["name"], tuple(sorted((x["name"], x.get("value")) for x in e.data.get("entities", [])))))
        elif e.type in ("not-recognized", "error"):
            out.append((e.type, (e.data.get("context") or {}).get("reason") or e.data.get("text")))
    return tuple(out)


def _expected(answer) -> tuple:
    from scenic.serve.wyoming_service import answer_events

    return _summary(answer_events(answer))


async def _round_trip(client, text: str) -> tuple[float, tuple | None]:
    """Round trip (ms) and answer of one transcript; None for an error event or a dropped connection."""
    from wyoming.asr import Transcript

    start = time.perf_counter()
    await client.write_event(Transcript(text, language="en").event())
    events = []
    while True:
        event = await client.read_event()
        if event is None:
            return (time.perf_counter() - start) * 1e3, None
        events.append(event)
        if event.type in ("intent", "not-recognized", "error") and events[0].type != "intents-start":
            break
        if event.type == "intents-stop":
            break
    elapsed = (time.perf_counter() - start) * 1e3
    return elapsed, None if any(e.type == "error" for e in events) else _summary(events)


async def _client(port: int, texts: list[str]) -> list[tuple[float, tuple | None]]:
    """Each text back to back on one connection."""
    from wyoming.client import AsyncTcpClient

    out = []
    async with AsyncTcpClient("127.0.0.1", port, connect_timeout=10, read_timeout=60) as client:
        for text in texts:
            out.append(await _round_trip(client, text))
            if out[-1][1] is None and client._reader is not None and client._reader.at_eof():
                break
    return out


async def _alternate(port: int, predictor, texts: list[str]) -> tuple[list[float], list[float]]:
    """For each text: the bare runtime call here, then the same request through the server (one connection).
    Alternating request by request keeps the two equally exposed to the machine's other work and scheduling."""
    from wyoming.client import AsyncTcpClient

    bare, served = [], []
    async with AsyncTcpClient("127.0.0.1", port, connect_timeout=10, read_timeout=60) as client:
        for i, text in enumerate(texts, 1):
            t0 = time.perf_counter()
            predictor.predict([text], num_beams=1, constrained=True, batch_size=1)
            bare.append((time.perf_counter() - t0) * 1e3)
            served.append((await _round_trip(client, text))[0])
            if i % 100 == 0:
                print(f"overhead phase: {i}/{len(texts)}", flush=True)
    return bare, served


def _plot(series: dict[str, list[float]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from scenic.artifacts import save_figure_atomic

    fig, ax = plt.subplots(figsize=(7, 4))
    for name, values in series.items():
        xs = sorted(values)
        ax.plot(xs, [i / (len(xs) - 1) for i in range(len(xs))], label=f"{name} (p50 {_pct(values, 50):.2f} ms)")
    ax.set_xscale("log")
    ax.set_xlabel("latency per request (ms, log scale)")
    ax.set_ylabel("fraction of requests")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure_atomic(fig, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--variant", default="int8-dynamic")
    ap.add_argument("--home", type=Path, default=None)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model-note", default=None)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "serve")
    args = ap.parse_args(argv)

    import scenic.runtime as runtime
    from scenic.artifacts import environment_info, write_json_atomic, write_text_atomic
    from scenic.homes import load_home
    from scenic.serve.engine import Engine

    home = load_home(args.home) if args.home else None
    predictor = runtime.load(args.model, variant=args.variant, home=home, threads=args.threads)
    engine = Engine(predictor, args.model.name)
    texts = [REQUESTS[i % len(REQUESTS)] for i in range(args.requests)]
    expected = {t: _expected(engine.answer(t)) for t in REQUESTS}  # also the warm-up of this process

    port = _free_port()
    log_path = Path(tempfile.mkdtemp(prefix="serve-load-")) / "serve.log"
    cmd = [sys.executable, "-m", "scenic", "serve", "--wyoming", f"tcp://127.0.0.1:{port}", "--model",
           str(args.model), "--variant", args.variant, "--threads", str(args.threads)]
    if args.home:
        cmd += ["--home", str(args.home)]
    log_file = open(log_path, "w", encoding="utf-8")
    server = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"scenic serve did not start: {log_path.read_text()}") from None
                time.sleep(0.2)
        bare, served = asyncio.run(_alternate(port, predictor, texts))
        log_file.flush()
        per_req = {int(m.group(1)): float(m.group(2)) for m in map(_LOG.search, log_path.read_text().splitlines())
                   if m}
        server_model_ms = [per_req[i] for i in sorted(per_req)][:len(served)]
        overhead = [s - m for s, m in zip(served, server_model_ms)]

        share = [texts[i::args.clients] for i in range(args.clients)]

        async def load():
            return await asyncio.gather(*(_client(port, part) for part in share), return_exceptions=True)

        t0 = time.perf_counter()
        results = asyncio.run(load())
        wall = time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait(30)
        log_file.close()
    load_ms: list[float] = []
    errors = mismatches = 0
    for part, res in zip(share, results):
        if isinstance(res, BaseException):
            errors += len(part)
            continue
        errors += len(part) - len(res)
        for text, (ms, answer) in zip(part, res):
            load_ms.append(ms)
            if answer is None:
                errors += 1
            elif answer != expected[text]:
                mismatches += 1
    result = {
        "command": shlex.join(["python", "benchmarks/serve_load.py", *(argv or sys.argv[1:])]),
        "model": str(args.model), "variant": args.variant, "threads": args.threads, "model_note": args.model_note,
        "environment": environment_info(),
        "overhead": {"bare_runtime": _stats(bare), "served_one_client": _stats(served),
                     "served_minus_bare_p50_ms": round(_pct(served, 50) - _pct(bare, 50), 3),
                     "per_request_overhead": _stats(overhead), "server_model_time": _stats(server_model_ms)},
        "load": {"clients": args.clients, "requests": len(texts), "answered": len(load_ms), "errors": errors,
                 "mismatches_vs_bare": mismatches, "wall_s": round(wall, 3),
                 "throughput_rps": round(len(load_ms) / wall, 1), "latency": _stats(load_ms)},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.out / "results.json", result)
    o, ld, env = result["overhead"], result["load"], result["environment"]
    md = [
        "# `scenic serve` on 127.0.0.1: overhead over the bare runtime, and load", "",
        f"Command: `{result['command']}`  ",
        f"Model: `{args.model}` ({args.variant}, onnxruntime {env.get('onnxruntime')}, {args.threads} thread(s))"
        + (f"; {args.model_note}" if args.model_note else ""), "",
        f"Machine: {env['platform']}, {env['cpu_count']} CPUs (shared with other work), Python {env['python']}.", "",
        "## Overhead (one client, alternating request by request with bare calls)", "",
        "| | n | p50 ms | p90 ms | p99 ms |", "|---|---|---|---|---|",
    ]
    for name, key in (("bare runtime call", "bare_runtime"), ("Wyoming round trip", "served_one_client"),
                      ("model time inside the server", "server_model_time"),
                      ("round trip minus the server's model time", "per_request_overhead")):
        s = o[key]
        md.append(f"| {name} | {s['n']} | {s['p50_ms']} | {s['p90_ms']} | {s['p99_ms']} |")
    md += ["", f"Server overhead: p50 of the per-request overhead **{o['per_request_overhead']['p50_ms']} ms**; "
               f"difference of the p50s (round trip - bare) {o['served_minus_bare_p50_ms']} ms (target <= 1 ms).", "",
           f"## Load: {ld['requests']} requests from {ld['clients']} concurrent clients", "",
           f"p50 {ld['latency']['p50_ms']} ms, p99 {ld['latency']['p99_ms']} ms, {ld['throughput_rps']} requests/s, "
           f"errors **{ld['errors']}**, answers different from the bare runtime's **{ld['mismatches_vs_bare']}** "
           "(requests are answered one at a time, so latency under load includes the queue).", ""]
    write_text_atomic(args.out / "results.md", "\n".join(md))
    _plot({"bare runtime": bare, "served, 1 client": served, f"served, {args.clients} clients": load_ms},
          args.out / "latency.png", f"{args.model.name} {args.variant}, {args.threads} onnxruntime thread(s)")
    print("\n".join(md))
    return 0 if errors == 0 and mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
