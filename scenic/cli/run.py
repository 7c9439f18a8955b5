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


def _request_lines(data: bytes, source: str) -> list[str]:
    """One request a line of UTF-8 text. Data with a NUL byte is not text (a binary file): one clear error. Bytes
    that do not decode inside a text line stay in that line (as lone surrogates), so that request alone gets an
    error result and the others are answered."""
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise ScenicError(f"{source}: line {line} is not UTF-8 text (binary data); convert it to UTF-8 (e.g. "
                          "iconv -t UTF-8) and run again")
    return data.decode("utf-8", "surrogateescape").splitlines()


def _inputs(text: Optional[str], file: Optional[Path]) -> list[str]:
    if text is not None and file is not None:
        raise ScenicError("give a TEXT or --file, not both")
    if text is not None:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as err:  # non-UTF-8 bytes in argv arrive as lone surrogates
            raise ScenicError(f"the request is not UTF-8 text (at character {err.start}); convert it to UTF-8") from None
        return [text]
    if file is not None and str(file) != "-":
        if not file.is_file():
            raise ScenicError(f"{file}: no such file")
        lines = _request_lines(file.read_bytes(), str(file))
    elif file is not None or not sys.stdin.isatty():
        raw = getattr(sys.stdin, "buffer", None)
        lines = _request_lines(raw.read(), "stdin") if raw is not None else sys.stdin.read().splitlines()
    else:
        raise ScenicError("nothing to run: give a TEXT, --file PATH, or lines on stdin")
    return [ln.strip() for ln in lines if ln.strip()]


def model_folder(model: Optional[Path]) -> Path:
    """--model, else the default model (`scenic run` and `scenic serve` share this one lookup)."""
    import scenic.runtime as runtime

    folder = model or runtime.find_latest_export("exports")
    if folder is None:
        raise ScenicError("no export under exports/: pass --model EXPORT_DIR (make one with `scenic export CHECKPOINT`)")
    return folder


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        text: Optional[str] = typer.Argument(None, help="One request, e.g. \"turn the kitchen lights off\"."),
        file: Optional[Path] = typer.Option(None, "--file", "-f", help="One request a line ('-' for stdin)."),
        model: Optional[Path] = typer.Option(None, "--model", "-m",
                                             help="Export folder, variant folder or bundle file "
                                                  "(default: the newest export under exports/)."),
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
        folder = model_folder(model)
        home_obj = None
        if home is not None:
            from scenic.homes import load_home

            home_obj = load_home(home)
        if provider not in PROVIDERS:
            raise ScenicError(f"unknown provider '{provider}' (known: {', '.join(PROVIDERS)})")
        from scenic.runtime.bundle import opened

        with opened(folder) as export_dir:  # a bundle file is unpacked into a temporary folder, checked like any export
            predictor = runtime.load(export_dir, variant=variant, home=home_obj, providers=PROVIDERS[provider],
                                     threads=threads)
            preds = predictor.predict(prompts, num_beams=beams, constrained=constrained, batch_size=batch_size)
        for p in preds:
            typer.echo(json.dumps(p.to_json(), ensure_ascii=False, indent=2 if text is not None else None))
        failed = sum(p.error is not None and p.command is None for p in preds)
        if failed:  # every other request was answered above; the exit status still says some were not
            typer.secho(f"error: {failed} of {len(preds)} request(s) could not be read (see their \"error\")",
                        fg=typer.colors.RED, err=True)
            raise typer.Exit(1)
