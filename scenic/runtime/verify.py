"""Check every file the runtime will load against the sizes and sha256 hashes in manifest.json.

A truncated download or a modified graph would otherwise load silently and give wrong commands.
"""

from __future__ import annotations

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


def verify_files(folder: Path, manifest: dict[str, Any], names: Iterable[str]) -> None:
    """Raise ExportIntegrityError unless each named file exists with the manifest's size and sha256."""
    from scenic.artifacts import verify_files as verify

    verify(folder, manifest, names, ExportIntegrityError, "re-export or re-download")
