"""Distributable bundles: one compressed archive per variant, holding exactly what the runtime needs for it.

Each archive carries its own export.json (that variant only) and manifest.json (those files' sizes and hashes), so
an unpacked bundle is itself a loadable, verifiable export folder. Archives are reproducible (fixed mtimes/owners).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import zstandard

from scenic.artifacts import sha256_file

SUFFIX = {"zstd": ".tar.zst", "zip": ".zip"}


def _tar_add(tar: tarfile.TarFile, arcname: str, data: bytes) -> None:
    info = tarfile.TarInfo(arcname)
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    tar.addfile(info, io.BytesIO(data))


def write_bundle(root: Path, dest: Path, top: str, files: list[str], extra: dict[str, bytes], fmt: str,
                 level: int = 19) -> dict[str, Any]:
    """Archive `files` (relative to root) plus in-memory `extra` files under `top/`; return its size and hash."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    entries = [(name, (root / name).read_bytes()) for name in sorted(files)] + sorted(extra.items())
    raw = sum(len(data) for _, data in entries)
    if fmt == "zstd":
        cctx = zstandard.ZstdCompressor(level=level, threads=-1)
        with open(tmp, "wb") as f, cctx.stream_writer(f) as zw, tarfile.open(fileobj=zw, mode="w|") as tar:
            for name, data in entries:
                _tar_add(tar, f"{top}/{name}", data)
    elif fmt == "zip":
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for name, data in entries:
                zf.writestr(zipfile.ZipInfo(f"{top}/{name}", date_time=(1980, 1, 1, 0, 0, 0)), data,
                            compress_type=zipfile.ZIP_DEFLATED)
    else:
        raise ValueError(f"unknown bundle format {fmt}")
    os.replace(tmp, dest)
    return {"format": fmt, "bytes": dest.stat().st_size, "raw_bytes": raw, "sha256": sha256_file(dest)}


def variant_bundle(root: Path, dest: Path, top: str, variant: str, info: dict[str, Any], manifest: dict[str, Any],
                   variant_files: list[str], fmt: str, level: int) -> dict[str, Any]:
    """A bundle of one variant: shared files + the variant's files, with export.json/manifest.json narrowed to it."""
    from scenic.runtime.layout import EXPORT_FILE, MANIFEST_FILE, shared_files

    files = shared_files(info) + variant_files
    narrowed = {**info, "variants": {variant: info["variants"][variant]}, "default_variant": variant}
    export_bytes = (json.dumps(narrowed, indent=2) + "\n").encode()
    listed = {name: manifest["files"][name] for name in files}
    listed[EXPORT_FILE] = {"bytes": len(export_bytes),
                           "sha256": hashlib.sha256(export_bytes).hexdigest()}
    sub_manifest = {k: v for k, v in manifest.items() if k not in ("files", "variants", "bundles")}
    sub_manifest.update(files=listed, bundle_of={"variant": variant},
                        variants={variant: manifest["variants"][variant]} if "variants" in manifest else {})
    extra = {EXPORT_FILE: export_bytes, MANIFEST_FILE: (json.dumps(sub_manifest, indent=2, default=str) + "\n").encode()}
    return write_bundle(root, dest, top, files, extra, fmt, level)
