"""Check every file the runtime will load against the sizes and sha256 hashes in manifest.json.

A truncated download or a modified graph would otherwise load silently and give wrong commands.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable

from scenic.runtime.errors import ExportFormatError, ExportIntegrityError
from scenic.runtime.layout import MANIFEST_FILE


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST_FILE
    if not path.is_file():
        raise ExportFormatError(f"{folder}: no {MANIFEST_FILE} (not an export folder, or an interrupted export)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ExportIntegrityError(f"{path}: corrupt manifest ({err}); re-export or re-download") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise ExportIntegrityError(f"{path}: manifest has no file list; re-export or re-download")
    return manifest


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def verify_files(folder: Path, manifest: dict[str, Any], names: Iterable[str]) -> None:
    """Raise ExportIntegrityError unless each named file exists with the manifest's size and sha256."""
    files = manifest["files"]
    for name in names:
        entry = files.get(name)
        if entry is None:
            raise ExportIntegrityError(f"{folder}: {name} is not listed in {MANIFEST_FILE}; refusing to load it")
        path = folder / name
        if not path.is_file():
            raise ExportIntegrityError(f"{path}: missing (the export is incomplete); re-export or re-download")
        size = path.stat().st_size
        if size != entry["bytes"]:
            what = "truncated" if size < entry["bytes"] else "larger than recorded"
            raise ExportIntegrityError(
                f"{path}: {what} ({size} bytes, manifest says {entry['bytes']}); refusing to load, "
                "re-export or re-download")
        if _sha256(path) != entry["sha256"]:
            raise ExportIntegrityError(
                f"{path}: sha256 does not match {MANIFEST_FILE} (file modified or corrupted); refusing to load")
