"""`scenic export MODEL --onnx [--int8] [--fp16] [--trt] [--out exports/NAME]`: a thin layer over scenic.export.export."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from scenic import ScenicError
from scenic.cli.common import FORCE_HELP, RECIPE_HELP, SET_HELP, THREADS_HELP, build_config, echo_done
from scenic.runtime.layout import EXPORT_FILE


def _summary(manifest: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="export variants")
    for col in ("variant", "raw", "bundle", "parity"):
        table.add_column(col)
    for name, v in manifest.get("variants", {}).items():
        p = manifest["parity"].get(name, {})
        check = (f"max|diff| {p['max_abs_diff']:.2g}" if p.get("criterion") == "max_abs_diff"
                 else f"agree {p.get('token_agreement', 0):.1%}")
        bundle = v.get("bundle", {}).get("bytes")
        table.add_row(name, f"{v['raw_bytes'] / 1e6:.2f} MB", f"{bundle / 1e6:.2f} MB" if bundle else "-", check)
    Console(stderr=True).print(table)


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export(
        model: Path = typer.Argument(..., help="Checkpoint folder (from `scenic train` or `scenic compress`); an "
                                               "export folder with --trt builds TensorRT engines into it."),
        onnx: Optional[bool] = typer.Option(None, "--onnx/--no-onnx",
                                            help="ONNX graphs (always made; the base of every other form)."),
        int8: Optional[bool] = typer.Option(None, "--int8/--no-int8",
                                            help="Add INT8 variants: dynamic (CPU) and static QDQ (TensorRT)."),
        fp16: Optional[bool] = typer.Option(None, "--fp16/--no-fp16", help="Add an FP16 variant (GPU / TensorRT)."),
        trt: Optional[bool] = typer.Option(None, "--trt/--no-trt",
                                           help="Build TensorRT engines (needs the tensorrt package)."),
        out: Optional[Path] = typer.Option(None, "--out", help="Export folder (default: exports/<checkpoint name>)."),
        data: Optional[Path] = typer.Option(None, "--data",
                                            help="Dataset folder: parity prompts from val, INT8 calibration from train."),
        bundle: Optional[str] = typer.Option(None, "--bundle", help="Bundle archive format: zstd, zip or none."),
        recipe: Optional[Path] = typer.Option(None, "--recipe", help=RECIPE_HELP),
        overrides: Optional[list[str]] = typer.Option(None, "--set", help=SET_HELP),
        force: bool = typer.Option(False, "--force", help=FORCE_HELP),
        threads: Optional[int] = typer.Option(None, "--threads", min=1, help=THREADS_HELP),
    ) -> None:
        """Export a checkpoint to ONNX (plus INT8 / FP16 / TensorRT), check it against PyTorch, bundle it."""
        from scenic.export import ExportConfig
        from scenic.export import export as run_export
        from scenic.export.trt import TensorRTMissing
        from scenic.runtime.verify import read_manifest

        cfg = build_config(ExportConfig, "export", recipe,
                           {"onnx": onnx, "int8": int8, "fp16": fp16, "trt": trt, "bundle": bundle}, overrides)
        if (model / EXPORT_FILE).is_file():  # an existing export: only add TensorRT engines (on the device)
            if not cfg.trt:
                raise ScenicError(f"{model} is already an export; pass --trt to build TensorRT engines into it")
            from scenic.export.trt import add_engines

            report = add_engines(model, fp16=fp16, int8=int8, max_batch=cfg.trt_max_batch,
                                 workspace_mb=cfg.trt_workspace_mb)
            for name, engine in report["engines"].items():
                typer.echo(f"{name}: {engine['file']} ({engine['bytes']} bytes, {' '.join(engine['flags'])}, "
                           f"sparse tactics: {engine['sparse_tactics']})")
            echo_done("engines", model / "trt")
            return
        target = out or Path("exports") / model.resolve().name
        try:
            result = run_export(model, target, cfg, data=data, progress=True, force=force, threads=threads)
        except TensorRTMissing:
            _summary(read_manifest(target))
            raise
        _summary(result.manifest)
        echo_done("export", target)
