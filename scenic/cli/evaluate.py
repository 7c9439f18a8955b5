"""`scenic evaluate MODEL`: beam-search a checkpoint or an export on a dataset split or a JSONL file."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from scenic.cli.common import RECIPE_HELP, SET_HELP, THREADS_HELP, build_config, echo_done


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


def print_summary(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{report['n']} examples: EM@1 {_pct(report['em1'])}, EM@5 {_pct(report['em5'])}, "
                        f"validity {_pct(report['validity'])}, semantic {_pct(report['semantic'])}")
    for col in ("category", "n", "EM@1", "EM@5", "validity", "semantic"):
        table.add_column(col, justify="left" if col == "category" else "right")
    for cat, m in report["per_category"].items():
        table.add_row(cat, str(m["n"]), _pct(m["em1"]), _pct(m["em5"]), _pct(m["validity"]), _pct(m["semantic"]))
    console = Console()
    console.print(table)
    kinds = report["confusion"]["kinds"]
    if kinds:
        console.print("wrong top-1: " + ", ".join(f"{k} {v}" for k, v in kinds.items()), highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    def evaluate(
        model: Path = typer.Argument(..., help="A checkpoint folder or an export folder (with export.json)."),
        data: Optional[Path] = typer.Option(None, "--data", help="Dataset folder."),
        split: Optional[str] = typer.Option(None, "--split", help="train, val or test (default test)."),
        file: Optional[Path] = typer.Option(None, "--file", help="Any JSONL with prompt, command (, category)."),
        out: Optional[Path] = typer.Option(None, "--out", help="Write the report here (JSON, plus .md beside it)."),
        predictions: Optional[Path] = typer.Option(
            None, "--predictions", help="Also write every example's beams and outcome here (JSONL)."),
        beams: Optional[int] = typer.Option(None, "--beams", help="Beam width (default 5)."),
        batch_size: Optional[int] = typer.Option(None, "--batch-size"),
        limit: Optional[int] = typer.Option(None, "--limit", help="Only the first N examples."),
        device: Optional[str] = typer.Option(None, "--device", help="auto, cpu or cuda (checkpoints only)."),
        recipe: Optional[Path] = typer.Option(None, "--recipe", help=RECIPE_HELP),
        overrides: Optional[list[str]] = typer.Option(None, "--set", help=SET_HELP),
        threads: Optional[int] = typer.Option(None, "--threads", min=1, help=THREADS_HELP),
        quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    ) -> None:
        """Exact match (EM@1, EM@5), validity, semantic match, per-category and error kinds."""
        from scenic.evaluate import EvaluateConfig, evaluate as run_evaluate, write_report

        cfg = build_config(EvaluateConfig, "evaluate", recipe, {
            "split": split, "beams": beams, "batch_size": batch_size, "limit": limit, "device": device,
        }, overrides)
        report = run_evaluate(model, data_dir=data, file=file, config=cfg, progress=not quiet,
                              predictions_out=predictions, threads=threads)
        print_summary(report)
        if predictions is not None:
            echo_done("predictions", predictions)
        if out is not None:
            echo_done("report", write_report(report, out))
