"""Import someone else's (prompt, command) data, keeping the commands as given.

Formats: `scenic` (a JSON list of {prompt, response}), `jsonl` and `csv` with chosen field names; a UTF-8 byte-order
mark is skipped. Every record is checked before anything is written; a record without its fields is an error naming
its record index, line or row. Rows that cannot be taken whole are never imported cut: a CSV row that is malformed
or ends inside a quoted field (a truncated file), a JSONL file's last line cut short, and, when the commands are in
SCENIC's command language, a row whose command does not parse (`HassTurnOn name="Lamp 20`). They are skipped,
counted and reported in the manifest, or refused with `strict`. The commands are kept exactly as given (outer
whitespace stripped); evaluation compares them as strings.
"""

from __future__ import annotations

import csv
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from scenic import ScenicError
from scenic.data.io import JsonlLineError, iter_jsonl


@dataclass(frozen=True)
class Record:
    prompt: str
    command: str
    where: str  # "record 3 (index 2)", "line 7", "line 5 (row 4)"


@dataclass(frozen=True)
class Skipped:
    """A row that was not imported: where it is, and why (truncated, malformed, unparsable_command)."""

    where: str
    reason: str
    detail: str


class Records(list):
    """The records read from a file, plus the rows that could not be taken whole (`skipped`)."""

    def __init__(self, items=(), skipped: list[Skipped] | None = None):
        super().__init__(items)
        self.skipped: list[Skipped] = skipped or []


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


def read_scenic(path: Path, prompt_field: str = "prompt", command_field: str = "response") -> Records:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as err:
        raise ScenicError(f"{path}: not valid JSON ({err.msg} at line {err.lineno} column {err.colno})") from None
    except UnicodeDecodeError as err:
        raise ScenicError(f"{path}: not UTF-8 text (byte {err.start}: {err.reason})") from None
    if not isinstance(data, list):
        raise ScenicError(f"{path}: expected a JSON list of {{\"{prompt_field}\", \"{command_field}\"}} records, "
                          f"got {type(data).__name__}")
    return Records(_from_mapping(obj, prompt_field, command_field, f"record {i + 1} (index {i})", path)
                   for i, obj in enumerate(data))


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(0, 2)
        if f.tell() == 0:
            return True
        f.seek(-1, 2)
        return f.read(1) in (b"\n", b"\r")


def read_jsonl_records(path: Path, prompt_field: str = "prompt", command_field: str = "command") -> Records:
    """One record a line. A last line that is not valid JSON and has no line end is a file cut short: skipped as
    truncated; a broken line anywhere else is an error."""
    out, last_complete = Records(), _ends_with_newline(path)
    try:
        for lineno, obj in iter_jsonl(path):
            out.append(_from_mapping(obj, prompt_field, command_field, f"line {lineno}", path))
    except JsonlLineError as err:
        if last_complete or err.lineno != _last_line_number(path):
            raise
        out.skipped.append(Skipped(f"line {err.lineno}", "truncated", "the file ends inside this line"))
    return out


def _last_line_number(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b"")) + 1


def read_csv(path: Path, prompt_field: str = "prompt", command_field: str = "command") -> Records:
    """CSV with a header row, read strictly: a row with a stray quote, or one the file ends inside of (a quoted field
    never closed: a truncated file), is skipped and reported instead of being imported with its text cut."""
    out = Records()
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f, strict=True)
            header = reader.fieldnames or []
            for field in (prompt_field, command_field):
                if field not in header:
                    raise ScenicError(f"{path}: the CSV header has no column '{field}' "
                                      f"(columns: {', '.join(header) or 'none'})")
            row_no = 0
            while True:
                row_no += 1
                start = reader.line_num + 1
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as err:
                    where = f"line {start} (row {row_no})"
                    truncated = "unexpected end of data" in str(err)
                    out.skipped.append(Skipped(where, "truncated" if truncated else "malformed",
                                               "the file ends inside a quoted field" if truncated else str(err)))
                    continue
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


READERS: dict[str, Callable[..., Records]] = {"scenic": read_scenic, "jsonl": read_jsonl_records, "csv": read_csv}


def read_records(path: str | Path, fmt: str, prompt_field: str, command_field: str) -> Records:
    path = Path(path)
    if fmt not in READERS:
        raise ScenicError(f"unknown format '{fmt}' (known: {', '.join(READERS)})")
    if not path.is_file():
        raise ScenicError(f"{path}: no such file")
    records = READERS[fmt](path, prompt_field, command_field)
    if not records:
        raise ScenicError(f"{path}: no records" + (f" ({len(records.skipped)} rows skipped: "
                                                   f"{records.skipped[0].where} {records.skipped[0].reason})"
                                                   if records.skipped else ""))
    return records


def _parses(command: str) -> bool:
    from scenic.commands import CommandParseError, parse

    try:
        parse(command)
        return True
    except CommandParseError:
        return False


def command_language(records: Records, mode: str) -> str:
    """'scenic' when the commands are SCENIC command strings (mode 'auto': at least half of the distinct commands
    parse), else 'opaque' (natural-language responses, another format: nothing to check)."""
    if mode != "auto":
        return mode
    distinct = {r.command for r in records}
    return "scenic" if 2 * sum(map(_parses, distinct)) >= len(distinct) else "opaque"


def drop_unparsable(records: Records) -> Records:
    """Records whose command parses; the others move to `skipped` (never imported cut or half-formed)."""
    from scenic.commands import CommandParseError, parse

    kept = Records(skipped=list(records.skipped))
    verdict: dict[str, str | None] = {}
    for r in records:
        if r.command not in verdict:
            try:
                parse(r.command)
                verdict[r.command] = None
            except CommandParseError as err:
                verdict[r.command] = str(err)
        if verdict[r.command] is None:
            kept.append(r)
        else:
            kept.skipped.append(Skipped(r.where, "unparsable_command", f"{verdict[r.command]}: {r.command!r:.80}"))
    return kept


def skipped_report(skipped: list[Skipped], path: Path, strict: bool) -> dict:
    """Counts per reason and the first few rows, for the manifest; with `strict`, the first one is an error."""
    if strict and skipped:
        first = skipped[0]
        raise ScenicError(f"{path}: {first.where}: {first.reason.replace('_', ' ')} ({first.detail}); "
                          f"{len(skipped)} such row(s) in all, refused because of --strict "
                          "(without it they are skipped and counted)")
    counts: dict[str, int] = {}
    for s in skipped:
        counts[s.reason] = counts.get(s.reason, 0) + 1
    return {"skipped_rows": counts, "skipped_examples": [[s.where, s.reason, s.detail] for s in skipped[:5]]}


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


def import_dataset(config, out, progress: Callable[[str, int, int], None] | None = None, force: bool = False) -> dict:
    """Import a file into a dataset folder (train/val/test.jsonl, triplets.jsonl, manifest.json) atomically.

    Everything is read and checked before the folder is created, so a malformed file leaves nothing behind.
    Returns the manifest. `config` is a `scenic.data.config.ImportConfig`; `progress(phase, done, total)` is called
    while triplets are mined (the long part on big files). `out` may hold an earlier dataset (it is replaced); any
    other SCENIC artifact only with `force`; other files never (docs/CONTRACTS.md).
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
    language = command_language(records, config.commands)
    if language == "scenic":
        records = drop_unparsable(records)
    skipped = skipped_report(records.skipped, Path(config.file), config.strict)
    if not records:
        raise ScenicError(f"{config.file}: no record could be imported ({skipped['skipped_rows']})")
    total = len(records) + len(records.skipped)
    records, repeats, conflicts = dedupe(records)
    labels = split_by_response([r.command for r in records], config.seed, config.val_fraction,
                               config.test_fraction, config.min_prompts_for_heldout)
    rows: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for r, split in zip(records, labels):
        rows[split].append({"prompt": r.prompt, "command": r.command, "category": "imported"})
    del records
    train = rows["train"]
    triplets = opaque_triplets([r["prompt"] for r in train], [r["command"] for r in train], config.seed,
                               (config.ngram_min, config.ngram_max), progress=progress) if config.triplets else []
    overlap = overlap_report(rows, prompt_key)
    train_cmds = {r["command"] for r in train}
    overlap["val_test_commands_missing_from_train"] = sum(
        1 for s in ("val", "test") for r in rows[s] if r["command"] not in train_cmds)
    digest = sha256_file(config.file)
    extra = {
        "kind": "imported", "opaque_commands": language == "opaque", "commands": language, "seed": config.seed,
        "format": config.format,
        "source_file": str(config.file), "source_sha256": digest, "fields": [prompt_field, command_field],
        "records": total, **skipped, "repeats_dropped": repeats, "conflicts_dropped": len(conflicts),
        "conflict_examples": [list(c) for c in conflicts[:5]],
        "counts": {s: {"imported": len(rows[s])} for s in SPLITS},
        "num_examples": {s: len(rows[s]) for s in SPLITS},
        "triplets": len(triplets), "triplet_mining": getattr(triplets, "info", None), "overlap": overlap,
        "stats": rows_stats(rows, config.stats.tokenizer, config.stats.percentiles),
    }
    with atomic_dir(out, "data", **out_policy) as tmp:
        manifest = write_dataset(tmp, rows, triplets, config, {"source": digest}, extra)
    return manifest
