"""`scenic pipeline RECIPE.yaml`: a thin layer over scenic.pipeline.load_recipe + run_pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from scenic.cli.common import SET_HELP, THREADS_HELP


def register(app: typer.Typer) -> None:
    @app.command("pipeline")
    def pipeline(
        recipe: Path = typer.Argument(..., help="A recipe YAML (see recipes/): one section per stage."),
        out: Optional[Path] = typer.Option(None, "--out", help="Output root (default: the recipe's `out`, else "
                                                               "exports/<recipe name>)."),
        data_path: Optional[Path] = typer.Option(None, "--data-path", help="The file an importing recipe reads "
                                                                           "(sets data.file)."),
        force: Optional[list[str]] = typer.Option(None, "--force", help="Rerun this stage even if complete "
                                                                        "(repeatable)."),
        from_stage: Optional[str] = typer.Option(None, "--from", help="Rerun this stage and every stage after it."),
        overrides: Optional[list[str]] = typer.Option(None, "--set", help=SET_HELP + " Keys are section.key, "
                                                                                      "e.g. train.max_steps=500."),
        threads: Optional[int] = typer.Option(None, "--threads", min=1, help=THREADS_HELP),
        quiet: bool = typer.Option(False, "--quiet", help="No progress bars or stage headers."),
    ) -> None:
        """Run data -> train -> compress -> export -> evaluate -> profile, skipping stages already complete."""
        from rich.console import Console

        from scenic.pipeline import load_recipe, run_pipeline, summarize

        cfg = load_recipe(recipe, overrides, data_path=data_path, out=out)
        if threads is not None:  # the command line wins over the recipe's `threads`
            cfg = cfg.model_copy(update={"threads": threads})
        result = run_pipeline(cfg, force=force, from_stage=from_stage, progress=not quiet,
                              console=Console(stderr=True, quiet=quiet))
        summarize(result, Console())
