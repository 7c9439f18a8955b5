"""Artifacts are written to a temporary sibling and renamed into place, with a manifest that says what made them.

Every stage hands the next one a folder; its manifest.json (stage, config, input hashes, file hashes) is what lets a
stage be rerun alone and lets the pipeline skip work that is already done.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

from scenic import ScenicError, __version__

MANIFEST = "manifest.json"


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_json(obj: Any) -> str:
    return sha256_text(json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str))


def write_text_atomic(path: str | Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def write_json_atomic(path: str | Path, obj: Any) -> Path:
    return write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def save_figure_atomic(fig: Any, path: str | Path, dpi: int = 120) -> Path:
    """Save a matplotlib figure beside its final name, then rename it into place; the figure is closed either way."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    try:
        fig.savefig(tmp, dpi=dpi)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return path


def write_results(folder: str | Path, results: dict, markdown: str, figure: Any, png_name: str) -> Path:
    """A benchmark's results: results.json, results.md and its figure, each written atomically into `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / "results.json", results)
    write_text_atomic(folder / "results.md", markdown)
    save_figure_atomic(figure, folder / png_name)
    return folder


@contextlib.contextmanager
def atomic_dir(final: str | Path, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary folder beside `final`; on success it replaces `final` in one rename.

    On any error the temporary folder is removed and whatever was at `final` before is untouched.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists() and not final.is_dir():
        raise ScenicError(f"{final}: exists and is not a folder")
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    try:
        yield tmp
        if final.exists():
            if not overwrite:
                raise ScenicError(f"{final}: already exists (pass --overwrite to replace it)")
            old = final.with_name(f".{final.name}.old-{os.getpid()}-{time.time_ns()}")
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def environment_info() -> dict[str, Any]:
    """Machine and versions, recorded next to every number we report."""
    info: dict[str, Any] = {
        "scenic": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
    }
    for mod in ("torch", "transformers", "tokenizers", "onnx", "onnxruntime", "numpy"):
        m = sys.modules.get(mod)
        if m is not None:
            info[mod] = getattr(m, "__version__", None)
    from scenic.threads import thread_info

    policy = thread_info()
    info["threads"] = policy["threads"]  # the CPU threads torch / onnxruntime / faiss were given (docs/threads.md)
    info["thread_policy"] = policy
    return info


def make_manifest(stage: str, config: Any, inputs: dict[str, str] | None = None, files: list[str | Path] | None = None,
                  root: str | Path | None = None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A manifest: which stage, which config (and its hash), which inputs (by hash), which files (by hash)."""
    cfg = config.model_dump(mode="json") if hasattr(config, "model_dump") else config
    m: dict[str, Any] = {
        "stage": stage,
        "scenic_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else None,
        "config": cfg,
        "config_hash": sha256_json(cfg),
        "inputs": inputs or {},
        "environment": environment_info(),
    }
    if files is not None and root is not None:
        root = Path(root)
        m["files"] = {str(Path(f)): {"bytes": (root / f).stat().st_size, "sha256": sha256_file(root / f)} for f in files}
    if extra:
        m.update(extra)
    return m


def read_manifest(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ScenicError(f"{folder}: no {MANIFEST} (not a SCENIC artifact folder, or an interrupted run)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ScenicError(f"{path}: corrupt manifest ({err.msg} at line {err.lineno})") from None


def folder_hash(folder: str | Path) -> str:
    """A stable identity for an artifact folder: the hash of its manifest's file hashes (or of the manifest)."""
    m = read_manifest(folder)
    return sha256_json(m.get("files") or m)
