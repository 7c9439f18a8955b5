"""`scenic compress MODEL --out DIR`: options or a recipe's `compress` section -> CompressConfig -> scenic.compress."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from scenic.cli.common import FORCE_HELP, RECIPE_HELP, SET_HELP, THREADS_HELP, build_config, echo_done


def register(app: typer.Typer) -> None:
    @app.command("compress")
    def compress(
        model: Path = typer.Argument(..., help="Trained checkpoint folder (from `scenic train`)."),
        out: Path = typer.Option(..., "--out", help="Output folder for the compressed checkpoint."),
        sparsity: Optional[str] = typer.Option(None, "--sparsity", help="Fraction of weights to zero (e.g. 0.5), "
                                                                        "or 2:4 for NVIDIA semi-structured sparsity."),
        method: Optional[str] = typer.Option(None, "--method", help="magnitude (default), or with 2:4 "
                                                                    "modelopt-magnitude / modelopt-sparsegpt."),
        granularity: Optional[str] = typer.Option(None, "--granularity", help="Unstructured: layer (default) or "
                                                                              "global threshold."),
        stages: Optional[int] = typer.Option(None, "--stages", help="Progressive pruning in this many stages, with "
                                                                    "recovery between them."),
        structured: Optional[float] = typer.Option(None, "--structured", help="Remove this fraction of FFN "
                                                                              "neurons and attention heads."),
        recover_steps: Optional[int] = typer.Option(None, "--recover-steps", help="Recovery fine-tuning steps "
                                                                                  "(masks held fixed)."),
        recover_epochs: Optional[float] = typer.Option(None, "--recover-epochs", help="Recovery length in epochs."),
        data: Optional[Path] = typer.Option(None, "--data", help="Dataset folder for recovery and calibration."),
        quant: Optional[str] = typer.Option(None, "--quant", help="int8 (weights), int8-static (weights + "
                                                                  "calibrated inputs, for QDQ/TensorRT) or fp16."),
        device: Optional[str] = typer.Option(None, "--device", help="auto, cpu or cuda."),
        seed: Optional[int] = typer.Option(None, "--seed"),
        recipe: Optional[Path] = typer.Option(None, "--recipe", help=RECIPE_HELP),
        overrides: Optional[list[str]] = typer.Option(None, "--set", help=SET_HELP),
        force: bool = typer.Option(False, "--force", "--overwrite", help=FORCE_HELP),
        threads: Optional[int] = typer.Option(None, "--threads", min=1, help=THREADS_HELP),
        quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    ) -> None:
        """Prune (unstructured, 2:4 or structured), recover and quantize a checkpoint; report in DIR/compression.json."""
        from scenic.compress import CompressConfig
        from scenic.compress import compress as run_compress
        from scenic.compress.api import summary
        from scenic.compress.report import REPORT_FILE

        cfg = build_config(CompressConfig, "compress", recipe, {
            "sparsity": sparsity, "method": method, "granularity": granularity, "stages": stages,
            "structured": structured, "recover_steps": recover_steps, "recover_epochs": recover_epochs,
            "data": data, "quant": quant, "device": device, "seed": seed,
        }, overrides)
        folder = run_compress(model, out, cfg, progress=not quiet, force=force, threads=threads)
        import json

        s = summary(json.loads((folder / REPORT_FILE).read_text(encoding="utf-8")))
        p, pruned = s["parameters"], s["sparsity_pruned_layers"]
        sparsity = f"{pruned:.1%} of pruned layers, " if pruned is not None else ""
        typer.echo(f"{'; '.join(s['steps'])} | parameters {p['before']:,} -> {p['after']:,} | sparsity "
                   f"{sparsity}{s['sparsity_whole_model']:.1%} of the model")
        echo_done("compressed checkpoint", folder)
