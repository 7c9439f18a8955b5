"""`scenic train`: options or a recipe's `train` section -> TrainConfig -> scenic.train.train."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from scenic.cli.common import FORCE_HELP, RECIPE_HELP, SET_HELP, THREADS_HELP, build_config, echo_done


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train(
        data: Optional[Path] = typer.Option(None, "--data", help="Dataset folder (from `scenic data generate`)."),
        out: Optional[Path] = typer.Option(None, "--out", help="Output checkpoint folder."),
        preset: Optional[str] = typer.Option(None, "--preset", help="Backbone preset: t5-tiny, t5-small, llama-tiny, "
                                                                     "llama-small (micro ones are for tests)."),
        max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Optimizer steps (default 3000)."),
        batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Train examples per step (default 256)."),
        lr: Optional[float] = typer.Option(None, "--lr", help="Peak learning rate (default 1e-3)."),
        seed: Optional[int] = typer.Option(None, "--seed"),
        device: Optional[str] = typer.Option(None, "--device", help="auto, cpu or cuda."),
        init_from: Optional[Path] = typer.Option(None, "--init-from", help="Start from this checkpoint's weights."),
        recipe: Optional[Path] = typer.Option(None, "--recipe", help=RECIPE_HELP),
        overrides: Optional[list[str]] = typer.Option(None, "--set", help=SET_HELP),
        resume: bool = typer.Option(False, "--resume", help="Continue the interrupted run in --out."),
        force: bool = typer.Option(False, "--force", "--overwrite", help=FORCE_HELP),
        stop_at: Optional[int] = typer.Option(None, "--stop-at", help="Stop at this step as if interrupted "
                                                                      "(state kept for --resume)."),
        threads: Optional[int] = typer.Option(None, "--threads", min=1, help=THREADS_HELP),
        quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    ) -> None:
        """Train a command model (triplet-contrastive SFT) from a dataset folder."""
        from rich.console import Console

        from scenic.train import TrainConfig, train as run_train

        cfg = build_config(TrainConfig, "train", recipe, {
            "data": data, "out": out, "preset": preset, "max_steps": max_steps, "batch_size": batch_size, "lr": lr,
            "seed": seed, "device": device, "init_from": init_from,
        }, overrides)
        folder = run_train(cfg, progress=not quiet, resume=resume, force=force, stop_at_step=stop_at,
                           console=Console(stderr=True), threads=threads)
        if (folder / "manifest.json").is_file():
            echo_done("checkpoint", folder)
