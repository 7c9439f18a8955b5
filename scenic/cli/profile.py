"""`scenic profile ARTIFACT...`: latency per component for several artifacts, interleaved."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from scenic.cli.common import RECIPE_HELP, SET_HELP, THREADS_HELP, build_config, echo_done


def register(app: typer.Typer) -> None:
    @app.command("profile")
    def profile_cmd(
        artifacts: list[Path] = typer.Argument(..., help="Checkpoint, export or variant folders (exports/x/int8-dynamic); the first is the baseline."),
        device: Optional[str] = typer.Option(None, help="cpu or cuda."),
        backend: Optional[str] = typer.Option(None, help="auto (default), torch, onnxruntime or tensorrt."),
        batch: Optional[list[int]] = typer.Option(None, "--batch", help="Batch sizes (repeatable; default 1 and 8)."),
        repeats: Optional[int] = typer.Option(None, help="Timed repeats per case."),
        threads: Optional[int] = typer.Option(None, min=1, help=THREADS_HELP),
        data: Optional[Path] = typer.Option(None, help="Take prompts from this dataset's test split."),
        name: Optional[list[str]] = typer.Option(None, "--name", help="A display name per artifact (repeatable)."),
        out: Path = typer.Option(Path("exports/profile"), help="Folder for profile.json/.md/.png."),
        recipe: Optional[Path] = typer.Option(None, help=RECIPE_HELP),
        set_: Optional[list[str]] = typer.Option(None, "--set", help=SET_HELP),
    ) -> None:
        """Time encoder, decoder step and end-to-end command per artifact; ratios against the first one."""
        from scenic.profile import ProfileConfig, profile, write_profile
        from scenic.profile.report import markdown_table

        cfg = build_config(ProfileConfig, "profile", recipe, {
            "artifacts": [str(a) for a in artifacts], "device": device, "backend": backend, "batches": batch or None,
            "repeats": repeats, "threads": threads, "data": str(data) if data else None, "names": name or None,
        }, set_)
        report = profile(cfg)
        write_profile(report, out)
        typer.echo(markdown_table(report))
        echo_done("profile written to", out)
