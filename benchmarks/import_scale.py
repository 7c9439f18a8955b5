"""`scenic data import` at 2, 6, 20 and 200 MB of JSONL, and the hard-negative miner's quality on scenic-zh.

    python benchmarks/import_scale.py [--sizes-mb 2 6 20 200] [--before-src DIR] [--before-max-mb 6]
        [--zh ../shared/datasets/scenic-zh/train.json] [--out benchmarks/results/import-scale]

Data: English Smart Home Instruct data generated for the default home (`--base-examples`, seed 0: every split's
rows), expanded into distinct prompts by wrapping each in a filler prefix / suffix pair ("hey, ... thanks"); the
commands stay as generated. Rows go round-robin (every base row once, then every base row with the first filler
pair, ...) into one JSONL stream; each size is the first N MB of it. So the 2 MB file is plain generated data and
the 200 MB file repeats each base example with about 30 fillers: a hard case for the miner, whose nearest
neighbours are mostly paraphrases of the same command.

Each import runs `scenic data import FILE --format jsonl` as a child process: wall seconds and its peak RSS (from
wait4). With `--before-src DIR` (a copy of the code before the scalable miner, e.g. `git archive <commit>`), the
same command with that code runs first for sizes up to `--before-max-mb` (today's quadratic miner), interleaved
with the new one, for the before/after ratio.

Quality on scenic-zh (its train split as the import makes it): the exact miner, the new one with exact dense search
(used up to 20k rows) and with the HNSW index (used beyond), compared by the TF-IDF cosine of the negative each
picks against the best possible (the exact miner's).

Writes OUT/results.json, OUT/results.md and OUT/import_scale.png.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PREFIXES = ["", "hey, ", "please ", "ok so ", "could you ", "right now ", "quick one: ", "hi there, ", "um, ",
            "alright, "]
SUFFIXES = ["", " please", " thanks", " now", " right away", " for me", " asap", " if you can", ", cheers",
            " thank you"]


def synthesize(path: Path, size_mb: float, base_examples: int, work: Path) -> dict:
    """Write the first `size_mb` MB of the expanded stream to `path`; returns how it was made."""
    from scenic.data import GenerateConfig, generate_dataset, load_split

    base_dir = work / f"base-{base_examples}"
    if not (base_dir / "manifest.json").is_file():
        generate_dataset(GenerateConfig(num_examples=base_examples, seed=0), base_dir)
    base = [(r["prompt"], r["command"]) for s in ("train", "val", "test") for r in load_split(base_dir, s)]
    limit = int(size_mb * 1_000_000)
    pairs = [(p, s) for s in SUFFIXES for p in PREFIXES]
    written = rows = variants = 0
    with open(path, "w", encoding="utf-8") as f:
        for variants, (pre, suf) in enumerate(pairs, 1):
            for prompt, command in base:
                line = json.dumps({"prompt": f"{pre}{prompt}{suf}", "command": command}, ensure_ascii=False) + "\n"
                size = len(line.encode("utf-8"))
                if written + size > limit:
                    return {"bytes": written, "rows": rows, "variants_used": variants, "base_rows": len(base)}
                f.write(line)
                written += size
                rows += 1
    return {"bytes": written, "rows": rows, "variants_used": variants, "base_rows": len(base)}


def run_import(src: Path | None, data: Path, out: Path, timeout: float) -> dict:
    """One `scenic data import` in a child process (the code under `src` when given): wall s, peak RSS, status."""
    if src is None:
        cmd = [sys.executable, "-c", "from scenic.cli import main; main()"]
    else:
        cmd = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(src)!r}); from scenic.cli import main; "
                                     f"assert sys.modules['scenic'].__file__.startswith({str(src)!r}); main()"]
    cmd += ["data", "import", str(data), "--format", "jsonl", "--out", str(out)]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                            env={**os.environ, "COLUMNS": "200"})
    deadline = t + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
            return {"finished": False, "wall_seconds": round(time.perf_counter() - t, 1),
                    "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
                    "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "timeout_seconds": timeout}
        time.sleep(0.2)
    wall = time.perf_counter() - t
    err = proc.stderr.read().decode("utf-8", "replace")
    proc.stdout.read()
    code = os.waitstatus_to_exitcode(status)
    out_info = {"finished": code == 0, "exit_code": code, "wall_seconds": round(wall, 1),
                "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}
    if code != 0:
        out_info["stderr_tail"] = err[-400:]
    elif (out / "manifest.json").is_file():
        m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        out_info.update(records=m["records"], train=m["num_examples"]["train"], triplets=m["triplets"],
                        triplet_mining=m.get("triplet_mining"), repeats_dropped=m.get("repeats_dropped"))
    return out_info


def quality(zh: Path) -> dict:
    """The three miners on scenic-zh's train split: time, and the picked negatives' similarity to the best."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    from scenic.data.hard_negatives import exact_negatives, nearest_negatives
    from scenic.data.importer import dedupe, read_records
    from scenic.data.splits import split_by_response

    records, _, _ = dedupe(read_records(zh, "scenic", "prompt", "response"))
    labels = split_by_response([r.command for r in records], 0, 0.1, 0.1, 3)
    train = [r for r, s in zip(records, labels) if s == "train"]
    prompts, commands = [r.prompt for r in train], [r.command for r in train]
    ref = TfidfVectorizer(analyzer="char", ngram_range=(2, 3), lowercase=True).fit_transform(prompts)
    runs = {}
    t = time.perf_counter()
    exact = exact_negatives(prompts, commands)
    runs["exact (today's miner)"] = (exact, time.perf_counter() - t)
    for name, flat_max in (("ann, exact dense search (<= 20k rows)", 20_000), ("ann, HNSW index (> 20k rows)", 0)):
        t = time.perf_counter()
        runs[name] = (nearest_negatives(prompts, commands, seed=0, flat_max=flat_max), time.perf_counter() - t)
    rows = np.nonzero(exact.similarity > 0)[0]
    out = {"rows": len(prompts), "distinct_commands": len(set(commands)), "anchors_compared": len(rows),
           "best_similarity_mean": round(float(exact.similarity[rows].mean()), 4), "miners": {}}
    for name, (neg, secs) in runs.items():
        picked = neg.negative[rows]
        sims = np.asarray(ref[rows].multiply(ref[np.maximum(picked, 0)]).sum(axis=1)).ravel()
        sims[picked < 0] = 0.0
        ratio = sims / exact.similarity[rows]
        out["miners"][name] = {
            "seconds": round(secs, 2), "similarity_mean": round(float(sims.mean()), 4),
            "similarity_ratio_mean": round(float(ratio.mean()), 4),
            "same_negative_or_tie": round(float((np.abs(sims - exact.similarity[rows]) < 1e-6).mean()), 4),
            "ratio_at_least_0.9": round(float((ratio >= 0.9).mean()), 4),
            "without_negative": int((neg.negative < 0).sum()), "info": neg.info}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes-mb", type=float, nargs="+", default=[2, 6, 20, 200])
    ap.add_argument("--base-examples", type=int, default=60_000)
    ap.add_argument("--before-src", type=Path, help="a copy of the code before the scalable miner")
    ap.add_argument("--before-max-mb", type=float, default=6)
    ap.add_argument("--timeout", type=float, default=900, help="seconds per import before it is called unfinished")
    ap.add_argument("--zh", type=Path, default=ROOT.parent / "shared/datasets/scenic-zh/train.json")
    ap.add_argument("--work", type=Path, help="folder for the synthetic files (default: a temporary one)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/import-scale")
    args = ap.parse_args(argv)

    from scenic.artifacts import environment_info, write_results

    load_before = [round(x, 2) for x in os.getloadavg()]
    results: dict = {"command": " ".join(shlex.quote(a) for a in [sys.executable.split("/")[-1], *sys.argv]),
                     "environment": environment_info(), "load_before": load_before,
                     "data": {"source": "scenic data generate (default home, seed 0), every split, expanded with "
                                        "filler prefix/suffix pairs, round-robin",
                              "base_examples": args.base_examples, "prefixes": PREFIXES, "suffixes": SUFFIXES},
                     "sizes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if args.zh.is_file():
            results["quality"] = quality(args.zh)
            print(json.dumps(results["quality"], indent=1), flush=True)
        for mb in args.sizes_mb:
            data = work / f"import-{mb:g}mb.jsonl"
            made = synthesize(data, mb, args.base_examples, work)
            entry = {"file": made}
            if args.before_src is not None and mb <= args.before_max_mb:
                entry["before"] = run_import(args.before_src, data, work / "out-before", args.timeout)
                print(f"{mb:g} MB before: {entry['before']}", flush=True)
            entry["after"] = run_import(None, data, work / "out-after", args.timeout)
            print(f"{mb:g} MB after: {entry['after']}", flush=True)
            if entry.get("before", {}).get("finished") and entry["after"]["finished"]:
                entry["speedup"] = round(entry["before"]["wall_seconds"] / entry["after"]["wall_seconds"], 1)
            results["sizes"][f"{mb:g}"] = entry
            data.unlink()
    results["load_after"] = [round(x, 2) for x in os.getloadavg()]
    write_results(args.out, results, to_markdown(results), plot(results), "import_scale.png")
    print(to_markdown(results))
    return 0


def to_markdown(r: dict) -> str:
    env = r["environment"]
    lines = ["# `scenic data import` at scale", "", f"- command: `{r['command']}`",
             f"- machine: {env.get('processor') or env.get('machine')} x{env.get('cpu_count')}, threads "
             f"{env.get('threads')} ({env.get('thread_policy', {}).get('source')}); load average before "
             f"{r['load_before']}, after {r.get('load_after')} (a shared machine: other jobs ran alongside)",
             f"- data: {r['data']['source']}; {r['data']['base_examples']} base examples", "",
             "Wall seconds on this shared machine; CPU seconds (user + system, all threads) show the work itself, which"
             " other jobs' load does not inflate.", "",
             "| size | rows | before: wall s / CPU s / peak MB | after: wall s / CPU s / peak MB | speedup (wall) | "
             "triplets | widened / none |",
             "|---|---|---|---|---|---|---|"]
    for mb, e in r["sizes"].items():
        b, a = e.get("before"), e["after"]

        def cell(x):
            if x is None:
                return "not run"
            if not x["finished"]:
                return f"unfinished after {x['wall_seconds']} s / {x.get('cpu_seconds')} / {x['peak_rss_mb']}"
            return f"{x['wall_seconds']} / {x.get('cpu_seconds')} / {x['peak_rss_mb']}"
        info = a.get("triplet_mining") or {}
        lines.append(f"| {mb} MB | {e['file']['rows']} | {cell(b)} | {cell(a)} | {e.get('speedup', '-')} | "
                     f"{a.get('triplets', '-')} | {info.get('widened', '-')} / {info.get('without_negative', '-')} |")
    q = r.get("quality")
    if q:
        lines += ["", f"## Hard-negative quality on scenic-zh ({q['rows']} train rows, {q['distinct_commands']} "
                      "commands)", "",
                  f"Similarity = TF-IDF cosine (character 2-3-grams) of the picked negative; the best possible "
                  f"(today's exact miner) averages {q['best_similarity_mean']}.", "",
                  "| miner | seconds | mean similarity | mean ratio to best | same as best | ratio >= 0.9 |",
                  "|---|---|---|---|---|---|"]
        for name, m in q["miners"].items():
            lines.append(f"| {name} | {m['seconds']} | {m['similarity_mean']} | {m['similarity_ratio_mean']} | "
                         f"{m['same_negative_or_tie']:.1%} | {m['ratio_at_least_0.9']:.1%} |")
    return "\n".join(lines) + "\n"


def plot(r: dict):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for key, style in (("before", "o--"), ("after", "s-")):
        pts = [(float(mb), e[key]) for mb, e in r["sizes"].items() if key in e]
        done = [(mb, x) for mb, x in pts if x["finished"]]
        if done:
            ax1.plot([mb for mb, _ in done], [x["wall_seconds"] for _, x in done], style, label=key)
            ax2.plot([mb for mb, _ in done], [x["peak_rss_mb"] for _, x in done], style, label=key)
        for mb, x in pts:
            if not x["finished"]:
                ax1.plot([mb], [x["wall_seconds"]], "x", color="red", label=f"{key}: unfinished")
    ax1.axhline(600, color="grey", lw=0.8, ls=":")
    ax2.axhline(4096, color="grey", lw=0.8, ls=":")
    for ax, title in ((ax1, "wall seconds (limit 600)"), (ax2, "peak RSS MB (limit 4096)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("JSONL size, MB")
        ax.set_title(title)
        ax.legend()
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    raise SystemExit(main())
