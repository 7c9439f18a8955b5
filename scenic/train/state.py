"""Resumable training state: weights, optimizer, scheduler, RNGs, step and bookkeeping, written atomically.

The data position is the step itself (batches are a pure function of the step, see scenic.train.data), so
restoring this folder and continuing gives the same weights as a run that never stopped.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scenic import ScenicError
from scenic.artifacts import atomic_dir

TRAINER_FILE = "trainer.pt"
STATE_META = "state.json"


def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": np.random.get_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_state(folder: Path, model, optimizer, scheduler, step: int, book: dict[str, Any],
               extra_files: dict[str, str] | None = None) -> None:
    """Write the whole state to a temporary sibling and rename it into place: a crash never leaves half a state."""
    with atomic_dir(folder) as tmp:
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "rng": rng_state(), "step": step, "book": book},
                   tmp / TRAINER_FILE)
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")
        (tmp / STATE_META).write_text(json.dumps({"step": step, **{k: v for k, v in book.items() if k != "history"}},
                                                 indent=2, default=str) + "\n", encoding="utf-8")


def state_step(folder: Path) -> int | None:
    meta = folder / STATE_META
    if not meta.is_file():
        return None
    return int(json.loads(meta.read_text(encoding="utf-8"))["step"])


def load_state(folder: Path, model, optimizer, scheduler, map_location: Any = "cpu") -> tuple[int, dict[str, Any]]:
    path = folder / TRAINER_FILE
    if not path.is_file():
        raise ScenicError(f"{folder}: no resumable training state ({TRAINER_FILE} missing)")
    # weights_only=False: the file holds RNG states (numpy / python tuples) that we wrote ourselves.
    st = torch.load(path, map_location=map_location, weights_only=False)
    model.load_state_dict(st["model"])
    optimizer.load_state_dict(st["optimizer"])
    scheduler.load_state_dict(st["scheduler"])
    set_rng_state(st["rng"])
    return int(st["step"]), st["book"]
