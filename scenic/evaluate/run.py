"""`evaluate(model, data)`: decode with beam search, then score with `compute_report`.

The model may be a checkpoint folder (CommandModel), an export folder (scenic.runtime predictor, recognised by its
export.json) or an object already loaded; all that is used is the predictor protocol below.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal, Protocol, Sequence

from pydantic import Field

from scenic import ScenicError
from scenic.artifacts import environment_info
from scenic.config.base import StrictModel
from scenic.evaluate.metrics import compute_report
from scenic.train.data import check_data_dir, load_split, read_jsonl

EXPORT_FILE = "export.json"


class Predictor(Protocol):
    """What evaluation needs from a model: CommandModel and scenic.runtime's predictor both provide it."""

    def generate(self, prompts: Sequence[str], num_beams: int, num_return: int, batch_size: int) -> list[list[str]]: ...

    def home(self) -> Any: ...


class EvaluateConfig(StrictModel):
    split: Literal["train", "val", "test"] = "test"
    beams: int = Field(5, ge=1, le=32, description="beam width")
    num_return: int | None = Field(None, ge=1, description="sequences returned per prompt (default: beams)")
    batch_size: int = Field(64, ge=1)
    limit: int | None = Field(None, ge=1, description="evaluate only the first N examples")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    max_examples: int = Field(10, ge=0, description="wrong examples kept per confusion kind")


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ScenicError("device 'cuda' requested but torch sees no CUDA device (use --device cpu)")
    return device


def load_predictor(path: str | Path, device: str = "auto") -> Predictor:
    """A checkpoint folder -> CommandModel; an export folder (with export.json) -> scenic.runtime predictor."""
    path = Path(path)
    if not path.is_dir():
        raise ScenicError(f"{path}: no such model folder (expected a checkpoint or an export)")
    if (path / EXPORT_FILE).exists():
        from scenic.runtime import load

        return load(path)
    from scenic.models import CommandModel

    return CommandModel.load(path, device=resolve_device(device))


def load_records(data_dir: str | Path | None = None, split: str = "test", file: str | Path | None = None) -> list[dict]:
    if (data_dir is None) == (file is None):
        raise ScenicError("give exactly one of a dataset folder (--data) or a JSONL file (--file)")
    if file is not None:
        rows = read_jsonl(file, ("prompt", "command"))
        for r in rows:
            r.setdefault("category", "unknown")
    else:
        rows = load_split(data_dir, split)
    if not rows:
        raise ScenicError(f"{file or Path(data_dir) / (split + '.jsonl')}: no examples to evaluate")
    return rows


def _home_for(predictor: Any, data_dir: str | Path | None):
    """The model's own home (what it was trained for); else the dataset's home.yaml; else none."""
    home = predictor.home() if hasattr(predictor, "home") else None
    if home is None and data_dir is not None and (Path(data_dir) / "home.yaml").is_file():
        from scenic.homes import load_home

        home = load_home(Path(data_dir) / "home.yaml")
    return home


def predict(predictor: Predictor, prompts: Sequence[str], beams: int, num_return: int, batch_size: int,
            progress: bool = True, description: str = "evaluate") -> list[list[str]]:
    """Decode in chunks so that any predictor gets a progress bar, with or without its own progress support."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    out: list[list[str]] = []
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), disable=not progress) as prog:
        task = prog.add_task(description, total=len(prompts))
        for start in range(0, len(prompts), batch_size):
            chunk = list(prompts[start:start + batch_size])
            out += predictor.generate(chunk, num_beams=beams, num_return=num_return, batch_size=batch_size)
            prog.update(task, advance=len(chunk))
    return out


def evaluate(model_or_path: Any, data_dir: str | Path | None = None, split: str = "test",
             file: str | Path | None = None, beams: int = 5, num_return: int | None = None, batch_size: int = 64,
             limit: int | None = None, device: str = "auto", progress: bool = True, max_examples: int = 10,
             config: EvaluateConfig | None = None, predictions_out: str | Path | None = None,
             predictions_wrong_only: bool = False, threads: int | None = None) -> dict[str, Any]:
    """Evaluate a model (folder or loaded predictor) on a dataset split or a JSONL file; returns the report dict.

    `predictions_out`: also write every example's beams and outcome there (JSONL), for error analysis; only the wrong
    top-1s with `predictions_wrong_only`. `threads`: CPU threads (default: scenic.threads' policy).
    """
    from scenic.threads import apply_threads

    apply_threads(threads)
    if config is not None:
        split, beams, num_return, batch_size = config.split, config.beams, config.num_return, config.batch_size
        limit, device, max_examples = config.limit, config.device, config.max_examples
    num_return = num_return or beams
    if num_return > beams:
        raise ScenicError(f"num_return ({num_return}) cannot exceed beams ({beams})")
    if data_dir is not None:
        check_data_dir(data_dir)
    records = load_records(data_dir, split, file)
    if limit is not None:
        records = records[:limit]
    is_path = isinstance(model_or_path, (str, Path))
    predictor = load_predictor(model_or_path, device) if is_path else model_or_path
    t0 = time.perf_counter()
    predictions = predict(predictor, [r["prompt"] for r in records], beams, num_return, batch_size, progress)
    seconds = time.perf_counter() - t0
    rows: list[dict[str, Any]] = []
    report = compute_report(records, predictions, _home_for(predictor, data_dir), max_examples=max_examples,
                            rows_out=rows)
    if predictions_out is not None:
        from scenic.evaluate.report import write_predictions

        write_predictions(rows, predictions, predictions_out, wrong_only=predictions_wrong_only)
    info = getattr(predictor, "info", None)
    report["settings"] = {
        "model": str(model_or_path) if is_path else type(predictor).__name__,
        "model_info": info if isinstance(info, dict) else None,
        "source": str(file) if file is not None else f"{data_dir} [{split}]",
        "beams": beams, "num_return": num_return, "batch_size": batch_size, "limit": limit,
        "seconds": seconds, "examples_per_second": len(records) / max(seconds, 1e-9),
        "device": str(getattr(predictor, "device", "onnxruntime")),
    }
    report["environment"] = environment_info()
    return report
