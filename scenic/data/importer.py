"""Import someone else's (prompt, command) data as opaque canonical strings.

Formats: `scenic` (a JSON list of {prompt, response}), `jsonl` and `csv` with chosen field names. Every record is
checked before anything is written; a bad one is an error naming its record index, line or row. The commands are
kept exactly as given (outer whitespace stripped): SCENIC never parses them, evaluation compares them as strings.
"""

from __future__ import annotations

import csv
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from scenic import ScenicError
from scenic.data.io import iter_jsonl


@dataclass(frozen=True)
class Record:
    prompt: str
    command: str
    where: str  # "record 3 (index 2)", "line 7", "line 5 (row 4)"


def _text(value: Any, field: str, where: str, path: Path) -> str:
    if value is None:
        raise ScenicError(f"{path}: {where}: '{field}' is missing")
    if not isinstance(value, str) or not value.strip():
        raise ScenicError(f"{path}: {where}: '{field}' must be a non-empty string (got {value!r:.60})")
    return value.strip()


def _from_mapping(obj: Any, prompt_field: str, command_field: str, where: str, path: Path) -> Record:
    if not isinstance(obj, dict):
        raise ScenicError(f"{path}: {where}: expected an object with '{prompt_field}' and '{command_field}', "
                          f"got {type(obj).__name__}")
    return Record(_text(obj.get(prompt_field), prompt_field, where, path),
                  _text(obj.get(command_field), command_field, where, path), where)


def read_scenic(path: Path, prompt_field: str = "prompt", command_field: str = "response") -> list[Record]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ScenicError(f"{path}: not valid JSON ({err.msg} at line {err.lineno} column {err.colno})") from None
    except UnicodeDecodeError as err:
        raise ScenicError(f"{path}: not UTF-8 text (byte {err.start}: {err.reason})") from None
    if not isinstance(data, list):
        raise ScenicError(f"{path}: expected a JSON list of {{\"{prompt_field}\", \"{command_field}\"}} records, "
                          f"got {type(data).__name__}")
    return [_from_mapping(obj, prompt_field, command_field, f"record {i + 1} (index {i})", path)
            for i, obj in enumerate(data)]


def read_jsonl_records(path: Path, prompt_field: str = "prompt", command_field: str = "command") -> list[Record]:
    return [_from_mapping(obj, prompt_field, command_field, f"line {lineno}", path)
            for lineno, obj in iter_jsonl(path)]


def read_csv(path: Path, prompt_field: str = "prompt", command_field: str = "command") -> list[Record]:
    out = []
    try:
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            for field in (prompt_field, command_field):
                if field not in header:
                    raise ScenicError(f"{path}: the CSV header has no column '{field}' "
                                      f"(columns: {', '.join(header) or 'none'})")
            for row_no, row in enumerate(reader, 1):
                where = f"line {reader.line_num} (row {row_no})"
                if None in row:
                    raise ScenicError(f"{path}: {where}: more fields than the header has")
                out.append(Record(_text(row.get(prompt_field), prompt_field, where, path),
                                  _text(row.get(command_field), command_field, where, path), where))
    except UnicodeDecodeError as err:
        raise ScenicError(f"{path}: not UTF-8 text (byte {err.start}: {err.reason})") from None
    except csv.Error as err:
        raise ScenicError(f"{path}: not valid CSV ({err})") from None
    return out


READERS: dict[str, Callable[..., list[Record]]] = {"scenic": read_scenic, "jsonl": read_jsonl_records, "csv": read_csv}


def read_records(path: str | Path, fmt: str, prompt_field: str, command_field: str) -> list[Record]:
    path = Path(path)
    if fmt not in READERS:
        raise ScenicError(f"unknown format '{fmt}' (known: {', '.join(READERS)})")
    if not path.is_file():
        raise ScenicError(f"{path}: no such file")
    records = READERS[fmt](path, prompt_field, command_field)
    if not records:
        raise ScenicError(f"{path}: no records")
    return records


def prompt_key(text: str) -> str:
    """Two prompts are the same if they match after NFKC, casefolding and collapsing whitespace."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def dedupe(records: list[Record]) -> tuple[list[Record], int, list[tuple[str, str, str]]]:
    """Drop repeated prompts; a prompt given two different commands keeps its first (the rest are reported)."""
    seen: dict[str, str] = {}
    out, repeats, conflicts = [], 0, []
    for r in records:
        key = prompt_key(r.prompt)
        prev = seen.get(key)
        if prev is None:
            seen[key] = r.command
            out.append(r)
        elif prev == r.command:
            repeats += 1
        else:
            conflicts.append((r.where, r.prompt, r.command))
    return out, repeats, conflicts


def import_dataset(config, out, progress: Callable[[int], None] | None = None, force: bool = False) -> dict:
    """Import a file into a dataset folder (train/val/test.jsonl, triplets.jsonl, manifest.json) atomically.

    Everything is read and checked before the folder is created, so a malformed file leaves nothing behind.
    Returns the manifest. `config` is a `scenic.data.config.ImportConfig`. `out` may hold an earlier dataset (it is
    replaced); any other SCENIC artifact only with `force`; other files never (docs/CONTRACTS.md).
    """
    from scenic.artifacts import atomic_dir, check_output, sha256_file
    from scenic.data.io import SPLITS, write_dataset
    from scenic.data.splits import overlap_report, split_by_response
    from scenic.data.stats import rows_stats
    from scenic.data.triplets import opaque_triplets

    if not config.file:
        raise ScenicError("no input file: pass FILE (or set data.file in the recipe)")
    out_policy = dict(inputs=(config.file,), force=force)
    check_output(out, "data", **out_policy)
    prompt_field, command_field = config.fields()
    records = read_records(config.file, config.format, prompt_field, command_field)
    total = len(records)
    records, repeats, conflicts = dedupe(records)
    labels = split_by_response([r.command for r in records], config.seed, config.val_fraction,
                               config.test_fraction, config.min_prompts_for_heldout)
    rows: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for r, split in zip(records, labels):
        rows[split].append({"prompt": r.prompt, "command": r.command, "category": "imported"})
        if progress:
            progress(1)
    train = rows["train"]
    triplets = opaque_triplets([r["prompt"] for r in train], [r["command"] for r in train], config.seed,
                               (config.ngram_min, config.ngram_max)) if config.triplets else []
    overlap = overlap_report(rows, prompt_key)
    train_cmds = {r["command"] for r in train}
    overlap["val_test_commands_missing_from_train"] = sum(
        1 for s in ("val", "test") for r in rows[s] if r["command"] not in train_cmds)
    digest = sha256_file(config.file)
    extra = {
        "kind": "imported", "opaque_commands": True, "seed": config.seed, "format": config.format,
        "source_file": str(config.file), "source_sha256": digest, "fields": [prompt_field, command_field],
        "records": total, "repeats_dropped": repeats, "conflicts_dropped": len(conflicts),
        "conflict_examples": [list(c) for c in conflicts[:5]],
        "counts": {s: {"imported": len(rows[s])} for s in SPLITS},
        "num_examples": {s: len(rows[s]) for s in SPLITS},
        "triplets": len(triplets), "overlap": overlap,
        "stats": rows_stats(rows, config.stats.tokenizer, config.stats.percentiles),
    }
    with atomic_dir(out, "data", **out_policy) as tmp:
        manifest = write_dataset(tmp, rows, triplets, config, {"source": digest}, extra)
    return manifest
