"""Unpack a bundle (.tar.zst or .zip from `scenic export`) into a folder the runtime can load."""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path

import zstandard

from scenic.runtime.errors import ExportFormatError


def unpack(archive: str | Path, dest: str | Path) -> Path:
    """Extract into `dest` and return the export folder inside it (paths escaping `dest` are refused)."""
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if archive.name.endswith(".tar.zst"):
        with open(archive, "rb") as f, zstandard.ZstdDecompressor().stream_reader(f) as zr, \
                tarfile.open(fileobj=zr, mode="r|") as tar:
            tar.extractall(dest, filter="data")  # the "data" filter refuses absolute paths, links and '..'
    elif archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                if name.startswith("/") or ".." in Path(name).parts:
                    raise ExportFormatError(f"{archive}: unsafe path {name!r} in bundle")
            zf.extractall(dest)
    else:
        raise ExportFormatError(f"{archive}: not a bundle (.tar.zst or .zip)")
    tops = [p for p in dest.iterdir() if p.is_dir()]
    if len(tops) != 1:
        raise ExportFormatError(f"{archive}: a bundle holds exactly one export folder")
    return tops[0]
