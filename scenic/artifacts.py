"""Artifacts are written to a temporary sibling and renamed into place, with a manifest that says what made them.

Every stage hands the next one a folder; its manifest.json (stage, config, input hashes, file hashes) is what lets a
stage be rerun alone and lets the pipeline skip work that is already done.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import hashlib
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

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
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if is_disk_full(err):
            raise _disk_full(path, err) from err
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


class DiskFullError(ScenicError):
    """The device filled up while SCENIC wrote an artifact (nothing was replaced)."""


def is_disk_full(err: BaseException) -> bool:
    """ENOSPC / EDQUOT, also when a library reports it as its own error type (safetensors and torch wrap the OS error
    in theirs, keeping only its text)."""
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(err)
    return "No space left on device" in text or "StorageFull" in text or "Disk quota exceeded" in text


def _disk_full(path: Path, err: BaseException) -> DiskFullError:
    return DiskFullError(f"{path}: no space left on the device while writing it; nothing was replaced "
                         "(free some space, or choose another --out, and run again)")


# ---- output folders: what a stage may write into ----------------------------------------------------------------
def _owned_files(manifest: dict[str, Any]) -> set[str] | None:
    """The files a manifest says its stage wrote (None when it does not list them); export bundles are listed
    under their variant, not among the runtime's files."""
    files = manifest.get("files")
    if not isinstance(files, dict):
        return None
    owned = {str(Path(f)) for f in files}
    for variant in (manifest.get("variants") or {}).values():
        bundle = variant.get("bundle") if isinstance(variant, dict) else None
        if isinstance(bundle, dict) and isinstance(bundle.get("file"), str):
            owned.add(str(Path(bundle["file"])))
    return owned


def _manifest_or_none(folder: Path) -> dict[str, Any] | None:
    try:
        m = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) and isinstance(m.get("stage"), str) else None


def _files_under(folder: Path, skip: set[str]) -> list[str]:
    """Relative paths of the files and links under `folder` (links to folders are not followed), leaving out the
    top-level entries in `skip` and every temporary or replaced copy an atomic write leaves."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        rel = Path(dirpath).relative_to(folder)
        keep = [d for d in dirnames if not _PARTIAL.match(d) and not (rel == Path(".") and d in skip)]
        found += [str(rel / d) for d in keep if (Path(dirpath) / d).is_symlink()]
        dirnames[:] = [d for d in keep if not (Path(dirpath) / d).is_symlink()]
        found += [str(rel / f) for f in filenames if not (rel == Path(".") and f in skip)]
    return sorted(found)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output(out: str | Path, stage: str, *, inputs: Iterable[str | Path | None] = (), force: bool = False,
                 replace: bool = True, own: Iterable[str] = ()) -> None:
    """Raise ScenicError unless `stage` may write its artifact at `out` (the output-folder policy, docs/CONTRACTS.md).

    Allowed: a new or empty folder; one holding only what this stage creates while it runs (`own`, e.g. train's
    state/ and best/); one holding a SCENIC artifact of the same stage (replaced when `replace`, else only with
    `force`), or of another stage with `force`. Never: a folder with files its manifest does not list (the user's
    files), a folder without a manifest, a folder that contains one of the command's `inputs` or lies inside one.
    When `out` may be written, the temporary folders a killed run left beside it are removed (clean_stale_partials),
    so every stage cleans them as it starts, not only when it renames its result into place.
    """
    out = Path(out)
    where = out.resolve()
    for item in inputs:
        if item is None:
            continue
        src = Path(item).resolve()
        if _inside(src, where):
            raise ScenicError(f"{out}: holds {item}, an input of this command; it will not be replaced "
                              "(choose another --out)")
        if src.is_dir() and _inside(where, src):
            raise ScenicError(f"{out}: lies inside {item}, an input of this command, and would change it "
                              "(choose another --out)")
    if out.exists():
        _check_existing(out, stage, force, replace, set(own))
    clean_stale_partials(out)


def _check_existing(out: Path, stage: str, force: bool, replace: bool, own: set[str]) -> None:
    if not out.is_dir():
        raise ScenicError(f"{out}: exists and is not a folder (choose another --out)")
    entries = [p for p in out.iterdir() if not _PARTIAL.match(p.name)]
    if not entries or all(p.name in own for p in entries):
        return
    manifest = _manifest_or_none(out)
    if manifest is None:
        raise ScenicError(f"{out}: exists and holds files that are not a SCENIC artifact (no {MANIFEST}); it will "
                          "not be replaced, even with --force (choose a new or empty folder)")
    kind = manifest["stage"]
    owned = _owned_files(manifest)
    present = [f for f in _files_under(out, skip=own) if f != MANIFEST]
    foreign = present if owned is None else [f for f in present if f not in owned]
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise ScenicError(f"{out}: holds files its SCENIC {kind} manifest does not list ({shown}); it will not be "
                          "replaced, even with --force (move them away or choose another --out)")
    if kind == stage:
        if not (replace or force):
            raise ScenicError(f"{out}: already holds a SCENIC {kind} artifact (pass --force to replace it)")
        return
    if not force:
        article = "an" if stage[0] in "aeiou" else "a"
        raise ScenicError(f"{out}: holds a SCENIC {kind} artifact, not {article} {stage} one (pass --force to replace "
                          "it, or choose another --out)")


# ---- atomic folders and their leftovers --------------------------------------------------------------------------
# A temporary folder is `.NAME.PID-RANDOM.partial`, a replaced one `.NAME.old-PID-NS`: the pid says whether the
# process that made it is still running, so a later run removes only what a dead (killed) one left behind.
_PARTIAL = re.compile(r"^\..+\.(?:(\d+)-\w+\.partial|\w{8}\.partial|old-(\d+)-\d+)$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def clean_stale_partials(final: str | Path) -> list[Path]:
    """Remove the temporary and replaced copies of `final` that a killed run left beside it; return them."""
    final = Path(final)
    if not final.parent.is_dir():
        return []
    removed = []
    prefix = f".{final.name}."
    for p in final.parent.iterdir():
        if not (p.name.startswith(prefix) and p.is_dir() and not p.is_symlink()):
            continue
        m = _PARTIAL.match(p.name)
        if m is None or "." in p.name[len(prefix):].removesuffix(".partial"):  # another folder's (NAME.x) leftovers
            continue
        pid = m.group(1) or m.group(2)
        if pid is None or not _alive(int(pid)):  # no pid: left by an older SCENIC, whose runs did not record one
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed
def write_results(folder: str | Path, results: dict, markdown: str, figure: Any, png_name: str) -> Path:
    """A benchmark's results: results.json, results.md and its figure, each written atomically into `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / "results.json", results)
    write_text_atomic(folder / "results.md", markdown)
    save_figure_atomic(figure, folder / png_name)
    return folder


@contextlib.contextmanager
def atomic_dir(final: str | Path, stage: str | None = None, *, inputs: Iterable[str | Path | None] = (),
               force: bool = False, replace: bool = True, own: Iterable[str] = ()) -> Iterator[Path]:
    """Yield a temporary folder beside `final`; on success it replaces `final` in one rename.

    With `stage`, `final` must pass `check_output` (before the work and again before the rename, since a long run
    gives the user time to put files there). Without it (a stage's own subfolders) any folder is replaced. Stale
    temporary folders of `final` are removed first. On any error the temporary folder is removed and whatever was at
    `final` before is untouched; a full disk is reported as DiskFullError.
    """
    final = Path(final)
    own = tuple(own)
    if stage is not None:
        check_output(final, stage, inputs=inputs, force=force, replace=replace, own=own)
    elif final.exists() and not final.is_dir():
        raise ScenicError(f"{final}: exists and is not a folder")
    else:
        clean_stale_partials(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.{os.getpid()}-", suffix=".partial", dir=final.parent))
    except OSError as err:
        raise (_disk_full(final, err) if is_disk_full(err) else err) from None
    try:
        yield tmp
        if stage is not None:
            check_output(final, stage, inputs=inputs, force=force, replace=replace, own=own)
        if final.exists():
            old = final.with_name(f".{final.name}.old-{os.getpid()}-{time.time_ns()}")
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if is_disk_full(err):
            raise _disk_full(final, err) from err
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
        m["files"] = {str(Path(f)): {"bytes": (root / f).stat().st_size, "sha256": sha256_file(root / f)}
                      for f in files if str(Path(f)) != MANIFEST}
    if extra:
        m.update(extra)
    return m


def read_manifest(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ScenicError(f"{folder}: no {MANIFEST} (not a SCENIC artifact folder, or an interrupted run)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ScenicError(f"{path}: corrupt manifest ({err.msg} at line {err.lineno})") from None
    except UnicodeDecodeError:
        raise ScenicError(f"{path}: corrupt manifest (not UTF-8 text)") from None
    if not isinstance(manifest, dict):
        raise ScenicError(f"{path}: corrupt manifest (not a JSON object)")
    return manifest


def read_tokenizer(path: str | Path):
    """A `tokenizers.Tokenizer` from its JSON file. tokenizers raises a bare Exception for a missing or malformed
    file, which says neither which file nor what to do; this names both."""
    from tokenizers import Tokenizer

    try:
        return Tokenizer.from_file(str(path))
    except Exception as err:
        raise ScenicError(f"{path}: not a readable tokenizer ({' '.join(str(err).split())[:200]}); copy it again or "
                          "remake it") from None


def folder_hash(folder: str | Path) -> str:
    """A stable identity for an artifact folder: the hash of its manifest's file hashes (or of the manifest)."""
    m = read_manifest(folder)
    return sha256_json(m.get("files") or m)


# ---- integrity on load ---------------------------------------------------------------------------------------------
_VERIFY_ON_LOAD: contextvars.ContextVar[bool] = contextvars.ContextVar("scenic_verify_on_load", default=True)


def verifying() -> bool:
    """Whether loaders check files against their manifest (on unless `verification(False)`: `scenic --no-verify`)."""
    return _VERIFY_ON_LOAD.get()


@contextlib.contextmanager
def verification(enabled: bool) -> Iterator[None]:
    token = _VERIFY_ON_LOAD.set(enabled)
    try:
        yield
    finally:
        _VERIFY_ON_LOAD.reset(token)


def verify_files(folder: str | Path, manifest: dict[str, Any], names: Iterable[str],
                 error: type[ScenicError] = ScenicError, remedy: str = "copy it again or remake it") -> None:
    """Raise `error` unless each named file of `folder` is listed in the manifest and has its size and sha256.

    Checkpoints and exports both go through here, so a truncated download or a flipped byte is refused before
    anything is built from it.
    """
    folder = Path(folder)
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise error(f"{folder / MANIFEST}: has no file list; refusing to load ({remedy})")
    for name in names:
        entry = files.get(name)
        if not isinstance(entry, dict):
            raise error(f"{folder}: {name} is not listed in {MANIFEST}; refusing to load it")
        path = folder / name
        if not path.is_file():
            raise error(f"{path}: missing (the folder is incomplete); {remedy}")
        size = path.stat().st_size
        if size != entry.get("bytes"):
            what = "truncated" if size < (entry.get("bytes") or 0) else "larger than recorded"
            raise error(f"{path}: {what} ({size} bytes, manifest says {entry.get('bytes')}); refusing to load, "
                        f"{remedy}")
        if sha256_file(path) != entry.get("sha256"):
            raise error(f"{path}: sha256 does not match {MANIFEST} (file modified or corrupted); refusing to load "
                        f"({remedy})")
