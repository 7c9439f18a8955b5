"""`run_pipeline(config)`: every stage in order, each skipped when it is complete for the same inputs and config."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenic import ScenicError
from scenic.pipeline.config import STAGES, PipelineConfig
from scenic.pipeline.results import collect_results, print_results, write_results
from scenic.artifacts import clean_stale_partials
from scenic.pipeline.stages import RUNNERS, RunContext, stage_config, stage_inputs
from scenic.pipeline.state import STATE_FILE, PipelineState, stage_key


@dataclass
class PipelineResult:
    out: Path
    status: dict[str, str] = field(default_factory=dict)  # stage -> "ran" | "skipped"
    seconds: dict[str, float] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def ran(self) -> list[str]:
        return [s for s, v in self.status.items() if v == "ran"]


def _forced(cfg: PipelineConfig, force: list[str] | None, from_stage: str | None) -> set[str]:
    stages = cfg.stages()
    for s in [*(force or []), *([from_stage] if from_stage else [])]:
        if s not in STAGES:
            raise ScenicError(f"unknown stage '{s}' (stages: {', '.join(STAGES)})")
        if s not in stages:
            raise ScenicError(f"stage '{s}' is not part of this recipe (it has no '{s}' section)")
    forced = set(force or [])
    if from_stage:
        forced |= set(stages[stages.index(from_stage):])
    return forced


def _check_root(out: Path) -> None:
    """OUT is written into (stage folders, results.md/json), never replaced: it must be new, empty or a pipeline's
    own (it has pipeline_state.json), so that no file of the user's there is overwritten. Each stage folder inside it
    is checked by its stage (scenic.artifacts.check_output)."""
    if out.exists() and not out.is_dir():
        raise ScenicError(f"{out}: exists and is not a folder (choose another --out)")
    if out.is_dir() and any(out.iterdir()) and not (out / STATE_FILE).is_file():
        raise ScenicError(f"{out}: holds files but is not a SCENIC pipeline folder (no {STATE_FILE}); choose a new "
                          "or empty --out")


def run_pipeline(cfg: PipelineConfig, force: list[str] | None = None, from_stage: str | None = None,
                 progress: bool = True, console: Any = None) -> PipelineResult:
    """Run the recipe's stages into `cfg.out`; `force` reruns the named stages, `from_stage` it and all after it.

    A stage is skipped when OUT/pipeline_state.json says it finished with the same key (its config plus the hashes
    of the folders it reads) and its folder is still the one it wrote. An interrupted training run resumes from its
    saved state when its key has not changed.
    """
    if console is None:
        from rich.console import Console

        console = Console(stderr=True, quiet=not progress)
    from scenic.threads import apply_threads

    apply_threads(cfg.threads)
    forced = _forced(cfg, force, from_stage)
    stage_inputs(cfg, "data")  # a missing input file is an error before OUT is created
    _check_root(cfg.out)
    cfg.out.mkdir(parents=True, exist_ok=True)
    state = PipelineState(cfg.out)
    result = PipelineResult(cfg.out)
    stages = cfg.stages()
    for i, stage in enumerate(stages, 1):
        folder = cfg.folder(stage)
        config, inputs = stage_config(cfg, stage), stage_inputs(cfg, stage)
        key = stage_key(config, inputs)
        if stage not in forced and state.is_complete(stage, folder, key):
            result.status[stage] = "skipped"
            console.print(f"[dim][{i}/{len(stages)}] {stage}: skipped (complete for the same inputs and config: "
                          f"{folder})[/dim]", highlight=False)
            continue
        console.rule(f"[bold][{i}/{len(stages)}] {stage}[/bold] -> {folder}")
        ctx = RunContext(progress=progress, console=console, resume=state.interrupted_with(stage, key))
        clean_stale_partials(folder)
        state.started(stage, key, config, inputs)
        t0 = time.perf_counter()
        RUNNERS[stage](cfg, ctx)
        result.seconds[stage] = time.perf_counter() - t0
        state.finished(stage, folder, result.seconds[stage])
        result.status[stage] = "ran"
        console.print(f"[green]{stage}: done in {result.seconds[stage]:.1f} s[/green]", highlight=False)
    result.results = collect_results(cfg)
    result.results["stages"] = {s: {"status": result.status[s], "seconds": round(result.seconds.get(s, 0.0), 1)}
                                for s in stages}
    write_results(cfg, result.results)
    return result


def summarize(result: PipelineResult, console) -> None:
    """What ran, what was skipped, and the results table (the CLI's closing output)."""
    ran = ", ".join(f"{s} ({result.seconds[s]:.0f} s)" for s in result.ran) or "nothing"
    skipped = ", ".join(s for s, v in result.status.items() if v == "skipped") or "nothing"
    console.print(f"ran: {ran}; skipped: {skipped}", highlight=False)
    print_results(result.results, console)
    console.print(f"results: {result.out / 'results.md'} and {result.out / 'results.json'}", highlight=False)
