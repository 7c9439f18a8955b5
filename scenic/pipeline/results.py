"""The results table that ends a pipeline: accuracy from OUT/eval, size and latency from OUT/profile.

Written to OUT/results.json and OUT/results.md; every number is read from the stage outputs, none is computed twice.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scenic.artifacts import environment_info, read_manifest, write_json_atomic, write_text_atomic
from scenic.pipeline.config import CHECKPOINTS, PipelineConfig

LATENCY_CASE = {"component": "end_to_end", "batch": 1, "length": "short"}


def _read(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


# Weights and graphs: what a device must hold. Tokenizer, configs and reports are left out of every form alike.
MODEL_SUFFIXES = (".safetensors", ".onnx", ".bin", ".data", ".engine")


def model_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and p.suffix in MODEL_SUFFIXES
               and "bundles" not in p.relative_to(folder).parts and "state" not in p.relative_to(folder).parts)


def _latency(profile: dict[str, Any] | None, artifact: str) -> dict[str, Any] | None:
    for r in (profile or {}).get("results", []):
        if r["artifact"] == artifact and all(r[k] == v for k, v in LATENCY_CASE.items()):
            return r
    return None


def _bundle_bytes(export_manifest: dict[str, Any] | None, artifact: str) -> int | None:
    variant = ((export_manifest or {}).get("variants") or {}).get(artifact) or {}
    return (variant.get("bundle") or {}).get("bytes")


def collect_results(cfg: PipelineConfig) -> dict[str, Any]:
    """One row per compared artifact; the first is the baseline of size reduction and speedup."""
    profile = _read(cfg.folder("profile") / "profile.json")
    export_manifest = read_manifest(cfg.folder("export")) if (cfg.folder("export") / "manifest.json").is_file() else None
    rows: list[dict[str, Any]] = []
    for artifact in cfg.compare:
        report = _read(cfg.folder("evaluate") / f"{artifact}.json") or {}
        lat = _latency(profile, artifact)
        rows.append({
            "artifact": artifact, "path": str(cfg.artifact_path(artifact)),
            "form": "PyTorch checkpoint" if artifact in CHECKPOINTS else f"ONNX {artifact}",
            "n": report.get("n"), "em1": report.get("em1"), "em5": report.get("em5"),
            "validity": report.get("validity"),
            "size_bytes": model_bytes(cfg.artifact_path(artifact)),
            "bundle_bytes": _bundle_bytes(export_manifest, artifact),
            "latency_ms": lat["p50_ms"] if lat else None,
            "backend": next((a.get("backend") for a in (profile or {}).get("artifacts", []) if a["name"] == artifact),
                            None),
        })
    base = rows[0]
    for r in rows:
        r["size_reduction"] = base["size_bytes"] / r["size_bytes"] if r["size_bytes"] else None
        r["speedup"] = (base["latency_ms"] / r["latency_ms"]) if base["latency_ms"] and r["latency_ms"] else None
    return {"name": cfg.name, "baseline": base["artifact"], "latency_case": LATENCY_CASE,
            "split": cfg.evaluate.split, "beams": cfg.evaluate.beams, "rows": rows,
            "environment": (profile or {}).get("environment") or environment_info()}


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _mb(b: int | None) -> str:
    return "-" if b is None else f"{b / 1e6:.2f}"


def _times(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}x"


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


COLUMNS = ("artifact", "EM@1", "EM@5", "valid", "MB", "bundle MB", "smaller", "p50 ms", "faster")


def table_cells(results: dict[str, Any]) -> list[list[str]]:
    return [[r["artifact"], _pct(r["em1"]), _pct(r["em5"]), _pct(r["validity"]), _mb(r["size_bytes"]),
             _mb(r["bundle_bytes"]), _times(r["size_reduction"]), _ms(r["latency_ms"]), _times(r["speedup"])]
            for r in results["rows"]]


def _caption(results: dict[str, Any]) -> str:
    n = results["rows"][0]["n"]
    case = results["latency_case"]
    env = results["environment"]
    return (f"{n} {results['split']} examples, {results['beams']} beams; latency: p50 {case['component']} "
            f"(greedy), batch {case['batch']}, {case['length']} prompts, on {env.get('gpu') or env.get('platform')} "
            f"({env.get('cpu_count')} CPUs); MB = weights and graphs "
            f"(bundle: the export variant's archive); smaller / faster: vs `{results['baseline']}`.")


def to_markdown(results: dict[str, Any]) -> str:
    lines = [f"# Results: {results['name']}", "", _caption(results), "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cells) + " |" for cells in table_cells(results)]
    return "\n".join(lines) + "\n"


def write_results(cfg: PipelineConfig, results: dict[str, Any]) -> None:
    write_json_atomic(cfg.out / "results.json", results)
    write_text_atomic(cfg.out / "results.md", to_markdown(results))


def print_results(results: dict[str, Any], console) -> None:
    from rich.table import Table

    # no borders: the table fits an 80-column terminal
    table = Table(title=f"results: {results['name']}", caption=_caption(results), box=None, pad_edge=False,
                  header_style="bold underline")
    for col in COLUMNS:
        table.add_column(col, justify="left" if col == "artifact" else "right", no_wrap=True)
    for cells in table_cells(results):
        table.add_row(*cells)
    console.print(table)
