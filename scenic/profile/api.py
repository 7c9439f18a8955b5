"""`profile(artifacts, ...)`: per-component latency, throughput, memory and size, several artifacts side by side."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from scenic import ScenicError
from scenic.artifacts import environment_info, write_json_atomic
from scenic.config.base import StrictModel
from scenic.profile.timing import run_interleaved

SHORT_PROMPTS = ["turn off the kitchen lights", "lock the front door", "pause the tv", "open the study blinds"]
LONG_PROMPTS = [
    "could you please dim the ceiling light in the bedroom to about forty percent, close the living room curtains "
    "and then set the thermostat in the bedroom to twenty one degrees, thanks a lot",
    "hey, it's getting really dark in the study so turn on the desk lamp, also lock the back door and start the "
    "robot vacuum in the hallway before we leave the house for the evening please",
]


class ProfileConfig(StrictModel):
    artifacts: list[str] = Field(min_length=1)
    names: list[str] | None = None
    backend: Literal["auto", "torch", "onnxruntime", "tensorrt"] = "auto"
    device: Literal["cpu", "cuda"] = "cpu"
    batches: list[int] = Field(default_factory=lambda: [1, 8])
    warmup: int = Field(3, ge=0)
    repeats: int = Field(30, ge=3)
    threads: int | None = Field(None, ge=1)  # torch / onnxruntime threads; None = scenic.threads' policy
    max_seconds_per_group: float | None = Field(20.0, gt=0)
    static_cache: bool = True  # CUDA only: also time generation with a static KV cache + CUDA graphs
    memory: bool = True  # peak RSS per artifact, measured in a fresh process each
    data: str | None = None  # take short/long prompts from this dataset's test split instead of the built-ins


def _is_export(folder: Path) -> bool:
    return (folder / "export.json").is_file()


def artifact_size(folder: str | Path) -> int:
    """Bytes of the model files (weights and graphs), not of reports beside them."""
    folder = Path(folder)
    skip = {"manifest.json", "compression.json", "README.md"}
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and p.name not in skip
               and not p.name.endswith((".zst", ".zip", ".md", ".png")) and ".state" not in p.parts)


def _prompts(cfg: ProfileConfig) -> dict[str, list[str]]:
    if cfg.data is None:
        return {"short": SHORT_PROMPTS, "long": LONG_PROMPTS}
    from scenic.data.io import load_split

    rows = load_split(cfg.data, "test")
    rows = sorted(rows, key=lambda r: len(r["prompt"]))
    if len(rows) < 8:
        raise ScenicError(f"{cfg.data}: too few test prompts to profile with")
    return {"short": [r["prompt"] for r in rows[: len(rows) // 4][:16]],
            "long": [r["prompt"] for r in rows[-(len(rows) // 10 or 1):][-16:]]}


def _backend_for(cfg: ProfileConfig, folder: Path) -> str:
    if cfg.backend != "auto":
        return cfg.backend
    return "onnxruntime" if _is_export(folder) else "torch"


def _cases_for(name: str, folder: Path, backend: str, cfg: ProfileConfig, prompts: dict[str, list[str]]):
    if backend == "torch":
        if _is_export(folder):
            raise ScenicError(f"{folder}: an export folder; profile it with --backend onnxruntime or tensorrt")
        from scenic.profile.torch_backend import torch_cases

        return torch_cases(name, str(folder), prompts, cfg.batches, cfg.device, cfg.static_cache)
    if backend == "onnxruntime":
        if not _is_export(folder):
            raise ScenicError(f"{folder}: not an export folder (no export.json); run `scenic export` first")
        from scenic.profile.ort_backend import ort_cases

        return ort_cases(name, str(folder), prompts, cfg.batches, cfg.device, cfg.threads)
    from scenic.profile.trt_backend import trt_cases

    return trt_cases(name, str(folder), prompts, cfg.batches)


def _default_name(folder: Path) -> str:
    """The folder's name; a variant folder (exports/x/int8-dynamic) is named with its export: x/int8-dynamic."""
    if _is_export(folder) and _is_export(folder.parent) and folder.name != folder.parent.name:
        return f"{folder.parent.name}/{folder.name}"
    return folder.name


def _gpu_name() -> str | None:
    """From torch when it is installed; else nvidia-smi (a Jetson runtime install has no torch, and no nvidia-smi)."""
    try:
        import torch

        return torch.cuda.get_device_name()
    except (ImportError, RuntimeError, AssertionError):
        pass
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=30)
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None
    except (OSError, subprocess.SubprocessError):
        pass
    model = Path("/proc/device-tree/model")  # Jetsons name their module here
    return model.read_text(errors="replace").strip("\x00\n ") if model.is_file() else None


def _peak_memory(folder: Path, backend: str, device: str) -> dict[str, Any]:
    """Peak RSS of a fresh process that loads the artifact and runs one command end to end."""
    cmd = [sys.executable, "-m", "scenic.profile.memory_probe", str(folder), backend, device]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def profile(cfg: ProfileConfig, progress: bool = True) -> dict[str, Any]:
    folders = [Path(a) for a in cfg.artifacts]
    for f in folders:
        if not f.is_dir():
            raise ScenicError(f"{f}: no such artifact folder")
    names = cfg.names or [_default_name(f) for f in folders]
    if len(names) != len(folders) or len(set(names)) != len(names):
        raise ScenicError("names: give one distinct name per artifact")
    backends = [_backend_for(cfg, f) for f in folders]
    if "torch" in backends:  # exports alone never import torch (Jetson)
        import torch  # noqa: F401  (imported first so apply_threads sets its pool too)
    from scenic.threads import apply_threads

    threads = apply_threads(cfg.threads)
    prompts = _prompts(cfg)
    cases, artifacts = [], []
    for name, folder, backend in zip(names, folders, backends):
        c, info = _cases_for(name, folder, backend, cfg, prompts)
        cases += c
        artifacts.append({"name": name, "path": str(folder), "size_bytes": artifact_size(folder), **info})
    start = time.time()
    if progress:
        from rich.progress import Progress

        groups = len({c.group for c in cases})
        with Progress(transient=True) as bar:
            task = bar.add_task("profiling", total=groups * cfg.repeats)
            timings = run_interleaved(cases, cfg.warmup, cfg.repeats, on_step=lambda: bar.advance(task),
                                      max_seconds_per_group=cfg.max_seconds_per_group)
    else:
        timings = run_interleaved(cases, cfg.warmup, cfg.repeats, max_seconds_per_group=cfg.max_seconds_per_group)
    rows = [t.summary() for t in timings]
    _add_ratios(rows, names[0])
    if cfg.memory:
        for a, folder in zip(artifacts, folders):
            a["peak_memory"] = _peak_memory(folder, a["backend"], cfg.device)
    env = environment_info()
    env["threads"] = threads
    if cfg.device == "cuda":
        env["gpu"] = _gpu_name()
    return {"config": cfg.model_dump(mode="json"), "baseline": names[0], "artifacts": artifacts, "results": rows,
            "seconds": round(time.time() - start, 1), "environment": env,
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])}


def _add_ratios(rows: list[dict], baseline: str) -> None:
    """Speedup of each artifact over the baseline (first) artifact, case by case, from the same interleaved run."""
    base = {(r["component"], r["batch"], r["length"]): r["p50_ms"] for r in rows if r["artifact"] == baseline}
    for r in rows:
        b = base.get((r["component"], r["batch"], r["length"]))
        r["speedup_vs_baseline"] = (b / r["p50_ms"]) if b and r["p50_ms"] > 0 else None


def write_profile(report: dict[str, Any], out: str | Path) -> Path:
    """JSON + markdown table + PNG (p50 per component and artifact) under `out`."""
    from scenic.profile.report import markdown_table, plot

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "profile.json", report)
    from scenic.artifacts import write_text_atomic

    write_text_atomic(out / "profile.md", markdown_table(report))
    try:
        import matplotlib  # noqa: F401  (a lean runtime install, e.g. on a Jetson, may not have it)
    except ImportError:
        raise ScenicError(f"{out}: profile.json and profile.md written; the PNG needs matplotlib "
                          "(pip install matplotlib)") from None
    plot(report, out / "profile.png")
    return out
