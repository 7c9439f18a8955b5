"""Check every file the runtime will load against the sizes and sha256 hashes in manifest.json.

A truncated download or a modified graph would otherwise load silently and give wrong commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from scenic.runtime.errors import ExportFormatError, ExportIntegrityError
from scenic.runtime.layout import MANIFEST_FILE


def inside(folder: Path, name: Any, listed_in: str = "export.json") -> Path:
    """`folder / name`, refused (one line, ExportFormatError) unless it stays inside `folder` once resolved.

    export.json and manifest.json name the files to load; a name that is absolute, climbs out with '..', or passes
    through a symbolic link pointing elsewhere would make the runtime read (and hash, parse, and quote in its errors)
    a file from outside the export. The message names the entry, never anything read from the outside file.
    """
    if not isinstance(name, str) or not name or "\x00" in name:
        raise ExportFormatError(f"{folder}: {listed_in} names an invalid file entry {name!r:.80}; refusing to load")
    rel = Path(name)
    root = folder.resolve()
    target = (folder / rel).resolve()
    if rel.is_absolute() or ".." in rel.parts or not target.is_relative_to(root):
        raise ExportFormatError(f"{folder}: {listed_in} names {name!r:.80}, which is outside the export folder; "
                                "refusing to load it")
    return folder / rel


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


def verify_files(folder: Path, manifest: dict[str, Any], names: Iterable[str]) -> None:
    """Raise ExportIntegrityError unless each named file exists with the manifest's size and sha256 (and
    ExportFormatError when a name leads outside `folder`)."""
    from scenic.artifacts import verify_files as verify

    for name in names:
        inside(folder, name)
    verify(folder, manifest, names, ExportIntegrityError, "re-export or re-download")
