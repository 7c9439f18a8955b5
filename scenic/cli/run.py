"""`scenic run "turn the kitchen lights off"`: commands from an export with the lean runtime (no torch)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from scenic import ScenicError
from scenic.cli.common import THREADS_HELP

# onnxruntime provider lists, best first (cuda/tensorrt need the onnxruntime-gpu build; see docs/deploy-jetson.md)
PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}


def _inputs(text: Optional[str], file: Optional[Path]) -> list[str]:
    if text is not None and file is not None:
        raise ScenicError("give a TEXT or --file, not both")
    if text is not None:
        return [text]
    if file is not None and str(file) != "-":
        if not file.is_file():
            raise ScenicError(f"{file}: no such file")
        # undecodable bytes stay in their line (as lone surrogates) so that request alone gets an error result
        lines = file.read_bytes().decode("utf-8", "surrogateescape").splitlines()
    elif file is not None or not sys.stdin.isatty():
        raw = getattr(sys.stdin, "buffer", None)
        lines = (raw.read().decode("utf-8", "surrogateescape") if raw is not None else sys.stdin.read()).splitlines()
    else:
        raise ScenicError("nothing to run: give a TEXT, --file PATH, or lines on stdin")
    return [ln.strip() for ln in lines if ln.strip()]


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        text: Optional[str] = typer.Argument(None, help="One request, e.g. \"turn the kitchen lights off\"."),
        file: Optional[Path] = typer.Option(None, "--file", "-f", help="One request a line ('-' for stdin)."),
        model: Optional[Path] = typer.Option(None, "--model", "-m",
                                             help="Export folder or variant folder (default: the newest under exports/)."),
        variant: Optional[str] = typer.Option(None, "--variant",
                                              help="fp32, fp16, int8-dynamic or int8-qdq (default: the export's)."),
        beams: int = typer.Option(1, "--beams", min=1, max=16, help="Beam width; alternatives are printed too."),
        constrained: bool = typer.Option(False, "--constrained", help="Only commands that are valid for the home."),
        home: Optional[Path] = typer.Option(None, "--home", help="Home YAML to check against (default: the export's)."),
        provider: str = typer.Option("cpu", "--provider", help="onnxruntime execution provider: cpu, cuda or tensorrt."),
        batch_size: int = typer.Option(64, "--batch-size", min=1),
        threads: Optional[int] = typer.Option(None, "--threads", min=1, help=THREADS_HELP),
    ) -> None:
        """Print each request's command and parsed calls as JSON (one object a line for several requests)."""
        import scenic.runtime as runtime

        prompts = _inputs(text, file)
        folder = model or runtime.find_latest_export("exports")
        if folder is None:
            raise ScenicError("no export under exports/: pass --model EXPORT_DIR (make one with `scenic export CHECKPOINT`)")
        home_obj = None
        if home is not None:
            from scenic.homes import load_home

            home_obj = load_home(home)
        if provider not in PROVIDERS:
            raise ScenicError(f"unknown provider '{provider}' (known: {', '.join(PROVIDERS)})")
        predictor = runtime.load(folder, variant=variant, home=home_obj, providers=PROVIDERS[provider],
                               threads=threads)
        preds = predictor.predict(prompts, num_beams=beams, constrained=constrained, batch_size=batch_size)
        for p in preds:
            typer.echo(json.dumps(p.to_json(), ensure_ascii=False, indent=2 if text is not None else None))
        failed = sum(p.error is not None and p.command is None for p in preds)
        if failed:  # every other request was answered above; the exit status still says some were not
            typer.secho(f"error: {failed} of {len(preds)} request(s) could not be read (see their \"error\")",
                        fg=typer.colors.RED, err=True)
            raise typer.Exit(1)
