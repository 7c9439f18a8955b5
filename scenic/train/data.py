"""Reading a dataset folder (docs/CONTRACTS.md) and turning it into deterministic, resumable batches.

Batches are a pure function of (seed, step): a resumed run asks for batch `step` and gets exactly the batch the
uninterrupted run would have seen, so the data position needs no saving beyond the step counter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from scenic import ScenicError

SPLITS = ("train", "val", "test")
TRIPLETS_FILE = "triplets.jsonl"
EXAMPLE_KEYS = ("prompt", "command")
TRIPLET_KEYS = ("anchor", "positive", "negative", "command")


class DataError(ScenicError):
    """A dataset folder or file that does not have the shape docs/CONTRACTS.md describes."""


def read_jsonl(path: str | Path, required: Sequence[str] = ()) -> list[dict[str, Any]]:
    """scenic.data.io's reader plus the fields this stage needs: a missing one is an error naming file and line."""
    from scenic.data.io import iter_jsonl

    rows = []
    for n, row in iter_jsonl(path):
        if not isinstance(row, dict):
            raise DataError(f"{path}: line {n}: each line must be a JSON object")
        for key in required:
            if not isinstance(row.get(key), str):
                raise DataError(f"{path}: line {n}: missing string field '{key}'")
        rows.append(row)
    return rows


def check_data_dir(folder: str | Path) -> Path:
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such dataset folder")
    if not (folder / "train.jsonl").is_file():
        raise DataError(f"{folder}: not a dataset folder (no train.jsonl; make one with `scenic data generate`)")
    return folder


def load_split(folder: str | Path, split: str) -> list[dict[str, Any]]:
    """Records of one split (prompt, command, category, ...); `category` defaults to 'unknown'."""
    folder = check_data_dir(folder)
    if split not in SPLITS:
        raise DataError(f"unknown split '{split}' (known: {', '.join(SPLITS)})")
    rows = read_jsonl(folder / f"{split}.jsonl", EXAMPLE_KEYS)
    for r in rows:
        r.setdefault("category", "unknown")
    return rows


def load_triplets(folder: str | Path) -> list[dict[str, Any]]:
    path = check_data_dir(folder) / TRIPLETS_FILE
    return read_jsonl(path, TRIPLET_KEYS) if path.is_file() else []


@dataclass
class Batch:
    """One step's examples: every prompt gets the cross-entropy on its command. Where a prompt has a triplet,
    `positives[i]` (a paraphrase with the same command, also trained with CE) and `negatives[i]` (a prompt with
    another command, which only gives an embedding) are set; elsewhere they are None."""

    prompts: list[str]
    commands: list[str]
    positives: list[str | None] | None = None
    negatives: list[str | None] | None = None

    def __len__(self) -> int:
        return len(self.prompts)

    @property
    def triplet_rows(self) -> list[int]:
        if self.positives is None or self.negatives is None:
            return []
        return [i for i, (p, n) in enumerate(zip(self.positives, self.negatives)) if p is not None and n is not None]

    @property
    def num_sequences(self) -> int:
        """Sequences that get a cross-entropy: the prompts and their positives."""
        return len(self.prompts) + len(self.triplet_rows)


class BatchSource:
    """`source(step)` -> the Batch for that step: epoch-wise permutations of the train rows seeded by (seed, epoch).

    Triplets are attached to their anchor row, so every train example is trained on whether or not the data could
    build a triplet for it (a command seen once has no positive).
    """

    def __init__(self, rows: list[dict[str, Any]], batch_size: int, seed: int,
                 triplets: list[dict[str, Any]] | None = None):
        if not rows:
            raise DataError("no training examples")
        self.rows, self.batch_size, self.seed = rows, batch_size, seed
        self.triplet_of = {(t["anchor"], t["command"]): (t["positive"], t["negative"]) for t in triplets or []}
        self._epoch, self._perm = -1, np.arange(0)

    @property
    def triplet_coverage(self) -> float:
        """Share of train rows that have a triplet."""
        return sum((r["prompt"], r["command"]) in self.triplet_of for r in self.rows) / len(self.rows)

    def _order(self, epoch: int) -> np.ndarray:
        if epoch != self._epoch:
            self._epoch, self._perm = epoch, np.random.default_rng([self.seed, epoch]).permutation(len(self.rows))
        return self._perm

    def indices(self, step: int) -> list[int]:
        n, out = len(self.rows), []
        pos = step * self.batch_size
        while len(out) < self.batch_size:
            epoch, offset = divmod(pos, n)
            take = min(self.batch_size - len(out), n - offset)
            out += self._order(epoch)[offset:offset + take].tolist()
            pos += take
        return out

    def __call__(self, step: int) -> Batch:
        rows = [self.rows[i] for i in self.indices(step)]
        batch = Batch(prompts=[r["prompt"] for r in rows], commands=[r["command"] for r in rows])
        if self.triplet_of:
            pairs = [self.triplet_of.get((r["prompt"], r["command"]), (None, None)) for r in rows]
            batch.positives, batch.negatives = [p for p, _ in pairs], [n for _, n in pairs]
        return batch
