"""Reading and writing dataset folders (docs/CONTRACTS.md): split JSONL files, triplets, home copy, manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from scenic import ScenicError
from scenic.artifacts import MANIFEST, make_manifest, write_json_atomic

SPLITS = ("train", "val", "test")
TRIPLETS = "triplets.jsonl"
HOME_FILE = "home.yaml"


class JsonlLineError(ScenicError):
    """A line of a JSONL file that is not valid JSON; `lineno` says which."""

    def __init__(self, message: str, lineno: int):
        super().__init__(message)
        self.lineno = lineno


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """(line number, object) for each non-blank line; a broken line is an error naming its number. A UTF-8
    byte-order mark at the start is skipped."""
    path = Path(path)
    if not path.is_file():
        raise ScenicError(f"{path}: no such file")
    with open(path, encoding="utf-8-sig") as f:
        lineno = 0
        try:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    yield lineno, json.loads(line)
                except json.JSONDecodeError as err:
                    raise JsonlLineError(f"{path}: line {lineno}: not valid JSON ({err.msg} at column {err.colno})",
                                         lineno) from None
        except UnicodeDecodeError as err:
            raise ScenicError(f"{path}: line {lineno + 1}: not UTF-8 text ({err.reason})") from None


def read_jsonl(path: str | Path) -> list[Any]:
    return [obj for _, obj in iter_jsonl(path)]


def write_jsonl(path: str | Path, rows: Iterable[Mapping]) -> int:
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
            n += 1
    return n


def load_split(folder: str | Path, split: str) -> list[dict]:
    """The rows of one split of a dataset folder."""
    if split not in SPLITS:
        raise ScenicError(f"unknown split '{split}' (known: {', '.join(SPLITS)})")
    return read_jsonl(Path(folder) / f"{split}.jsonl")


def load_triplets(folder: str | Path) -> list[dict]:
    return read_jsonl(Path(folder) / TRIPLETS)


def write_dataset(tmp: Path, splits: Mapping[str, Sequence[Mapping]], triplets: Sequence[Mapping], config: Any,
                  inputs: dict[str, str], extra: dict[str, Any], home_text: str | None = None) -> dict[str, Any]:
    """Write the files of a dataset into `tmp` (the caller's atomic_dir) and its manifest; return the manifest."""
    files = []
    for split in SPLITS:
        write_jsonl(tmp / f"{split}.jsonl", splits.get(split, ()))
        files.append(f"{split}.jsonl")
    write_jsonl(tmp / TRIPLETS, triplets)
    files.append(TRIPLETS)
    if home_text is not None:
        (tmp / HOME_FILE).write_text(home_text, encoding="utf-8")
        files.append(HOME_FILE)
    manifest = make_manifest("data", config, inputs=inputs, files=files, root=tmp, extra=extra)
    write_json_atomic(tmp / MANIFEST, manifest)
    return manifest
