"""Unpack a bundle (.tar.zst or .zip from `scenic export`) into a folder the runtime can load."""

from __future__ import annotations

import contextlib
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Iterator

import zstandard

from scenic.runtime.errors import ExportFormatError

SUFFIXES = (".tar.zst", ".zip")


def is_bundle(path: str | Path) -> bool:
    path = Path(path)
    return path.is_file() and path.name.endswith(SUFFIXES)


def _extract(archive: Path, dest: Path) -> None:
    """Extract into the empty folder `dest`; an unsafe entry or a damaged archive is an ExportFormatError."""
    try:
        if archive.name.endswith(".tar.zst"):
            with open(archive, "rb") as f, zstandard.ZstdDecompressor().stream_reader(f) as zr, \
                    tarfile.open(fileobj=zr, mode="r|") as tar:
                tar.extractall(dest, filter="data")  # the "data" filter refuses absolute paths, links and '..'
        elif archive.suffix == ".zip":
            with zipfile.ZipFile(archive) as zf:
                for name in zf.namelist():
                    if name.startswith("/") or ".." in Path(name).parts:
                        raise ExportFormatError(f"{archive}: unsafe path {name!r} in bundle; refusing to unpack it")
                zf.extractall(dest)
        else:
            raise ExportFormatError(f"{archive}: not a bundle (.tar.zst or .zip)")
    except tarfile.FilterError as err:
        raise ExportFormatError(f"{archive}: unsafe entry in bundle ({err}); refusing to unpack it") from None
    except (tarfile.TarError, zipfile.BadZipFile, zstandard.ZstdError, EOFError) as err:
        raise ExportFormatError(f"{archive}: damaged bundle ({' '.join(str(err).split())}); copy it again or "
                                "re-export it") from None


def unpack(archive: str | Path, dest: str | Path) -> Path:
    """Extract into `dest` and return the export folder inside it (paths escaping `dest` are refused).

    The archive is extracted into a temporary folder first and its one export folder renamed into `dest`, so a
    refused or damaged bundle leaves nothing behind and never overwrites what `dest` already holds.
    """
    archive, dest = Path(archive), Path(dest)
    if not archive.is_file():
        raise ExportFormatError(f"{archive}: no such bundle file")
    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", suffix=".partial", dir=dest))
    try:
        _extract(archive, tmp)
        tops = list(tmp.iterdir())
        if len(tops) != 1 or not tops[0].is_dir():
            raise ExportFormatError(f"{archive}: a bundle holds exactly one export folder")
        final = dest / tops[0].name
        if final.exists():
            raise ExportFormatError(f"{final}: already exists; unpack into another folder")
        tops[0].rename(final)
        return final
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def opened(path: str | Path) -> Iterator[Path]:
    """An export folder for `path`: itself, or for a bundle file its unpacked copy in a temporary folder that is
    removed afterwards (so `scenic run --model NAME-int8-dynamic.tar.zst` works on the file that was shipped)."""
    path = Path(path)
    if not is_bundle(path):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="scenic-bundle-") as tmp:
        yield unpack(path, tmp)
