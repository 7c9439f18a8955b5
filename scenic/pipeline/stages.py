"""One function per stage: what it reads (by hash), its effective config, and how it runs into its folder.

Every stage calls the same library function as its CLI command; the pipeline only chooses the folders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from scenic import ScenicError
from scenic.artifacts import atomic_dir, folder_hash, make_manifest, sha256_file, write_json_atomic
from scenic.data.config import ImportConfig
from scenic.pipeline.config import CHECKPOINTS, PipelineConfig


@dataclass
class RunContext:
    progress: bool
    console: Any  # a rich Console
    resume: bool  # the stage's last attempt had the same key and was interrupted


def _artifact_folder(cfg: PipelineConfig, artifact: str) -> Path:
    """The stage folder whose manifest identifies `artifact` (an export variant is identified by its export)."""
    return cfg.artifact_path(artifact) if artifact in CHECKPOINTS else cfg.folder("export")


def stage_inputs(cfg: PipelineConfig, stage: str) -> dict[str, str]:
    """Hashes of everything `stage` reads; called once its upstream stages are complete."""
    data = {"data": folder_hash(cfg.folder("data"))} if stage != "data" else {}
    if stage == "data":
        key, path = ("file", cfg.data.file) if isinstance(cfg.data, ImportConfig) else ("home", cfg.data.home)
        if path is None:
            return {}
        if not Path(path).is_file():
            raise ScenicError(f"data.{key} {path}: no such file")
        return {key: sha256_file(path)}
    if stage == "train":
        return data | ({"init_from": folder_hash(cfg.train.init_from)} if cfg.train.init_from else {})
    if stage == "compress":
        return data | {"checkpoint": folder_hash(cfg.folder("train"))}
    if stage == "export":
        return data | {"checkpoint": folder_hash(cfg.checkpoint_for_export())}
    return data | {a: folder_hash(_artifact_folder(cfg, a)) for a in cfg.compare}  # evaluate, profile


def _relative(obj: Any, root: str) -> Any:
    """Paths under OUT written as $OUT/..., so an output folder keeps its state when it is moved or copied."""
    if isinstance(obj, dict):
        return {k: _relative(v, root) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_relative(v, root) for v in obj]
    if isinstance(obj, str) and (obj == root or obj.startswith(root + "/")):
        return "$OUT" + obj[len(root):]
    return obj


def stage_config(cfg: PipelineConfig, stage: str) -> Any:
    """The effective config of `stage` as JSON (what its key hashes)."""
    if stage == "evaluate":
        dumped = {"compare": cfg.compare, **cfg.evaluate.model_dump(mode="json")}
    else:
        section = {"data": cfg.data, "train": cfg.train, "compress": cfg.compress, "export": cfg.export,
                   "profile": cfg.profile}[stage]
        dumped = section.model_dump(mode="json")
    return _relative(dumped, str(cfg.out))


def _data(cfg: PipelineConfig, ctx: RunContext) -> None:
    out = cfg.folder("data")
    if isinstance(cfg.data, ImportConfig):
        from scenic.data.importer import import_dataset
        from scenic.progress import phase_progress

        with phase_progress(ctx.console, disable=not ctx.progress) as report:
            import_dataset(cfg.data, out, progress=report, force=True)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from scenic.data.generate import generate_dataset

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=ctx.console, transient=True, disable=not ctx.progress) as bar:
        task = bar.add_task("generating", total=cfg.data.num_examples)
        generate_dataset(cfg.data, out, progress=lambda n=1: bar.advance(task, n), force=True)


def _train(cfg: PipelineConfig, ctx: RunContext) -> None:
    from scenic.train import train

    resume = ctx.resume and (cfg.folder("train") / "state").is_dir()
    folder = train(cfg.train, progress=ctx.progress, resume=resume, force=not resume, console=ctx.console)
    if not (folder / "manifest.json").is_file():
        raise ScenicError(f"{folder}: training stopped before the last step; rerun the pipeline to resume it")


def _compress(cfg: PipelineConfig, ctx: RunContext) -> None:
    from scenic.compress import compress

    compress(cfg.folder("train"), cfg.folder("compress"), cfg.compress, progress=ctx.progress, force=True)


def _export(cfg: PipelineConfig, ctx: RunContext) -> None:
    from scenic.export import export

    export(cfg.checkpoint_for_export(), cfg.folder("export"), cfg.export, data=cfg.folder("data"),
           progress=ctx.progress, force=True)


def _evaluate(cfg: PipelineConfig, ctx: RunContext) -> None:
    from scenic.evaluate import evaluate, write_report

    reports = {}
    for artifact in cfg.compare:
        ctx.console.print(f"evaluating {artifact} ({cfg.artifact_path(artifact)})", highlight=False)
        reports[artifact] = evaluate(cfg.artifact_path(artifact), data_dir=cfg.folder("data"), config=cfg.evaluate,
                                     progress=ctx.progress)
    with atomic_dir(cfg.folder("evaluate"), "evaluate", force=True) as tmp:
        for artifact, report in reports.items():
            write_report(report, tmp / f"{artifact}.json")
        _write_manifest(tmp, "evaluate", stage_config(cfg, "evaluate"), stage_inputs(cfg, "evaluate"))


def _profile(cfg: PipelineConfig, ctx: RunContext) -> None:
    from scenic.profile import profile, write_profile

    report = profile(cfg.profile, progress=ctx.progress)
    with atomic_dir(cfg.folder("profile"), "profile", force=True) as tmp:
        write_profile(report, tmp)
        _write_manifest(tmp, "profile", stage_config(cfg, "profile"), stage_inputs(cfg, "profile"))


def _write_manifest(tmp: Path, stage: str, config: Any, inputs: dict[str, str]) -> None:
    files = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
    write_json_atomic(tmp / "manifest.json", make_manifest(stage, config, inputs=inputs, files=files, root=tmp))


RUNNERS: dict[str, Callable[[PipelineConfig, RunContext], None]] = {
    "data": _data, "train": _train, "compress": _compress, "export": _export, "evaluate": _evaluate,
    "profile": _profile,
}
