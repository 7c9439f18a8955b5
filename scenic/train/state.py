"""Resumable training state: weights, optimizer, scheduler, RNGs, step and bookkeeping, written atomically.

The data position is the step itself (batches are a pure function of the step, see scenic.train.data), so
restoring this folder and continuing gives the same weights as a run that never stopped.
"""

from __future__ import annotations

import json
import pickle
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scenic import ScenicError
from scenic.artifacts import atomic_dir

TRAINER_FILE = "trainer.pt"
STATE_META = "state.json"


def rng_state() -> dict[str, Any]:
    """Every RNG's state in types `torch.load(weights_only=True)` accepts (tensors, tuples, numbers): numpy's
    key array travels as a tensor."""
    np_state = np.random.get_state(legacy=False)
    numpy = {"key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)), "pos": int(np_state["state"]["pos"]),
             "has_gauss": int(np_state["has_gauss"]), "gauss": float(np_state["gauss"])}
    state = {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": numpy}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    n = state["numpy"]
    np.random.set_state({"bit_generator": "MT19937", "state": {"key": n["key"].numpy().astype(np.uint32), "pos": n["pos"]},
                         "has_gauss": n["has_gauss"], "gauss": n["gauss"]})
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_state(folder: Path, model, optimizer, scheduler, step: int, book: dict[str, Any],
               extra_files: dict[str, str] | None = None) -> None:
    """Write the whole state to a temporary sibling and rename it into place: a crash never leaves half a state."""
    with atomic_dir(folder) as tmp:
        with open(tmp / TRAINER_FILE, "wb") as f:  # a Python file: a full disk surfaces as OSError(ENOSPC)
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(), "rng": rng_state(), "step": step, "book": book}, f)
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
    # weights_only=True: tensors, numbers and containers only. A pickle that asks to import or call anything (code
    # execution on load) is refused instead of run.
    try:
        st = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"Unsupported (global|operand)[^.]*?(GLOBAL [\w.]+|\d+)", str(err))
        reason = (found.group(2) if found.group(1) == "global" else f"pickle opcode {found.group(2)}") if found \
            else " ".join(str(err).split())[-120:]
        raise ScenicError(f"{path}: refused to load: not a plain training state, it asks to run code ({reason}); "
                          "remove that folder's state/ or start again without --resume") from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise ScenicError(f"{path}: unreadable training state ({' '.join(str(err).split())[:200]}); start again "
                          "without --resume") from None
    if not isinstance(st, dict) or not {"model", "optimizer", "scheduler", "rng", "step", "book"} <= set(st):
        raise ScenicError(f"{path}: not a SCENIC training state; start again without --resume")
    model.load_state_dict(st["model"])
    optimizer.load_state_dict(st["optimizer"])
    scheduler.load_state_dict(st["scheduler"])
    set_rng_state(st["rng"])
    return int(st["step"]), st["book"]
