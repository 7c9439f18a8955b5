"""A progress display for work in phases (the import: vectorising, indexing, searching), shared by the CLI and the
pipeline. Library functions only call `progress(phase, done, total)`; they never draw anything themselves."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator


@contextmanager
def phase_progress(console: Any = None, disable: bool = False) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar per phase (on `console`, default stderr), shown from the phase's first report; yields
    the `progress(phase, done, total)` callback."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=console or Console(stderr=True), transient=True, disable=disable)
    tasks: dict[str, Any] = {}

    def report(phase: str, done: int, total: int) -> None:
        if not tasks:
            bar.start()
        if phase not in tasks:
            tasks[phase] = bar.add_task(phase, total=total)
        bar.update(tasks[phase], completed=done, total=total)

    try:
        yield report
    finally:
        if tasks:
            bar.stop()
