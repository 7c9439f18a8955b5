"""The server's one contact with the runtime: load a model once, answer one request at a time.

Every predictor call the server makes is in this module, so a change of the runtime's API (a base model that reads
the home at run time, a requesting-area parameter) is adapted here and nowhere else.

Requests are answered one at a time (a lock), never batched together: INT8-dynamic graphs compute activation scales
over the whole batch, so a request's answer would depend on whichever other requests shared its batch.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenic import ScenicError
from scenic.commands import UNSUPPORTED

log = logging.getLogger("scenic.serve")

# The runtime parameter that carries the requesting satellite's area (issue 14: target-less requests resolve to it).
# Until the runtime takes it, the area is only recorded in the request log.
REQUESTER_AREA = "requester_area"
MAX_TEXT = 1000  # characters; a transcript longer than this is a client bug, not a request
WARM_UP = "turn on the light"


@dataclass
class Answer:
    """One request's result, as both front ends report it."""

    text: str
    command: str
    calls: list[dict[str, Any]]
    valid: bool | None
    model_ms: float
    requester_area: str | None = None
    area_used: bool = False  # whether the runtime took the requester area (False until issue 14)
    error: str | None = None

    @property
    def unsupported(self) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["intent"] == UNSUPPORTED]

    @property
    def actions(self) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["intent"] != UNSUPPORTED]


@dataclass
class Engine:
    """A loaded predictor and what the server says about it."""

    predictor: Any
    model_name: str
    languages: list[str] = field(default_factory=lambda: ["en"])
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.takes_area = REQUESTER_AREA in inspect.signature(self.predictor.predict).parameters

    @property
    def home(self):
        return self.predictor.home()

    def answer(self, text: str, requester_area: str | None = None) -> Answer:
        """Constrained greedy decoding of one request. Thread-safe; blocks while another request runs."""
        if not isinstance(text, str):
            raise ScenicError(f"the request text must be a string, not {type(text).__name__}")
        if len(text) > MAX_TEXT:
            raise ScenicError(f"the request is {len(text)} characters long (at most {MAX_TEXT})")
        text = " ".join(text.split())
        if not text:
            return Answer(text, f"{UNSUPPORTED} reason=not_a_command",
                          [{"intent": UNSUPPORTED, "slots": {"reason": "not_a_command"}}], True, 0.0, requester_area)
        kwargs: dict[str, Any] = {"num_beams": 1, "constrained": True, "batch_size": 1}
        if self.takes_area and requester_area is not None:
            kwargs[REQUESTER_AREA] = requester_area
        with self._lock:
            start = time.perf_counter()
            pred = self.predictor.predict([text], **kwargs)[0]
            model_ms = (time.perf_counter() - start) * 1e3
        return Answer(text, pred.command, pred.calls or [], pred.valid, model_ms, requester_area,
                      self.takes_area and requester_area is not None, pred.error)


def find_model(model: Path | None) -> Path:
    """--model, else what `scenic run` uses by default (one lookup for both commands)."""
    from scenic.cli.run import model_folder

    return model_folder(model)


@contextlib.contextmanager
def loaded(model: Path | None, home_path: Path | None, *, variant: str | None = None,
           providers: list[str] | None = None, threads: int | None = None,
           languages: list[str] | None = None) -> Any:
    """An Engine for the export (or bundle) `model` and the home YAML `home_path` (default: the export's home),
    warmed up with one request so the first real one is not slow; a bundle stays unpacked while the server runs."""
    import scenic.runtime as runtime
    from scenic.runtime.bundle import opened

    folder = find_model(model)
    home = None
    if home_path is not None:
        from scenic.homes import load_home

        home = load_home(home_path)
    start = time.perf_counter()
    with opened(folder) as export_dir:
        predictor = runtime.load(export_dir, variant=variant, home=home, providers=providers, threads=threads)
        if predictor.home() is None:
            raise ScenicError(f"{folder}: the export has no home and no --home was given; constrained decoding "
                              "needs one (make it with `scenic home import`)")
        engine = Engine(predictor, Path(folder).name, languages or ["en"])
        engine.answer(WARM_UP)
        log.info("model %s (%s, %s) loaded in %.1f s; home '%s' with %d entities; requester area %s",
                 folder, predictor.variant, predictor.device, time.perf_counter() - start, predictor.home().name,
                 len(predictor.home().entities),
                 "passed to the runtime" if engine.takes_area else "recorded in the log only (issue 14)")
        yield engine
