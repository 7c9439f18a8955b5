"""Markdown and PNG views of a profile report."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def markdown_table(report: dict[str, Any]) -> str:
    env = report["environment"]
    backends = ", ".join(dict.fromkeys(str(a.get("backend")) for a in report["artifacts"]))
    lines = [f"# Profile ({backends} on {env.get('gpu') or env.get('platform')})", "",
             f"Baseline for speedups: `{report['baseline']}`. Command: `{report.get('command')}`", "",
             "| artifact | backend | variant | runs on | size (MB) | peak RSS (MB) | peak GPU (MB) |",
             "|---|---|---|---|---|---|---|"]
    for a in report["artifacts"]:
        mem = a.get("peak_memory") or {}
        rss, gpu = mem.get("peak_rss_mb"), mem.get("gpu_peak_mb")
        runs_on = ", ".join(a.get("providers") or [a.get("device") or "-"])
        lines.append(f"| {a['name']} | {a.get('backend')} | {a.get('variant') or '-'} | {runs_on} | "
                     f"{a['size_bytes'] / 1e6:.2f} | {'-' if rss is None else rss} | {'-' if gpu is None else gpu} |")
    lines += ["", "| component | batch | input | artifact | p50 ms | p95 ms | items/s | speedup |",
              "|---|---|---|---|---|---|---|---|"]
    for r in sorted(report["results"], key=lambda r: (r["component"], r["batch"], r["length"], r["artifact"])):
        sp = r.get("speedup_vs_baseline")
        lines.append(f"| {r['component']} | {r['batch']} | {r['length']} | {r['artifact']} | {r['p50_ms']:.3f} | "
                     f"{r['p95_ms']:.3f} | {r['throughput_per_s']:.1f} | {'-' if sp is None else f'{sp:.2f}x'} |")
    versions = ", ".join(f"{k} {v}" for k, v in env.items() if k in ("torch", "onnxruntime", "transformers", "python"))
    lines += ["", f"Machine: {env.get('platform')}, {env.get('cpu_count')} CPUs; threads: {env.get('threads')}; {versions}", ""]
    return "\n".join(lines)


def plot(report: dict[str, Any], path: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in report["results"] if r["batch"] == 1]
    comps = sorted({(r["component"], r["length"]) for r in rows})
    names = [a["name"] for a in report["artifacts"]]
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(comps)), 4))
    width = 0.8 / max(1, len(names))
    for i, n in enumerate(names):
        vals = [next((r["p50_ms"] for r in rows if r["artifact"] == n and (r["component"], r["length"]) == c), 0)
                for c in comps]
        ax.bar([j + i * width for j in range(len(comps))], vals, width, label=n)
    ax.set_xticks([j + width * (len(names) - 1) / 2 for j in range(len(comps))])
    ax.set_xticklabels([f"{c}\n{l}" for c, l in comps], fontsize=8)
    ax.set_ylabel("p50 latency, batch 1 (ms)")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.set_title("Per-component latency (lower is better)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
