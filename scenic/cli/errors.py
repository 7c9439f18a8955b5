"""The CLI's one error boundary: every exception becomes one line on stderr and an exit code (docs/commands.md).

Library code raises ScenicError with a message naming the file and the fix wherever it knows them. What reaches this
module otherwise comes from the OS or from a library (safetensors, tokenizers, onnxruntime, json, tarfile ...): it is
named here by kind, with what to do about it. A traceback is shown only with `scenic --debug`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import signal
import sys
import traceback
from typing import Iterator, NoReturn

from scenic import ScenicError

# Exit codes: 0 done; 1 an unexpected error (a bug: rerun with --debug and report it); 2 a problem with the input,
# the options, the files or the machine (the message says which); 130 interrupted (Ctrl-C); 143 terminated (SIGTERM).
EXIT_BUG, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_TERMINATED = 1, 2, 130, 143
MAX_LINE = 400  # characters of a library's own message kept in the one line


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that atomic writes clean up as they do for Ctrl-C."""


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """While a command runs, SIGTERM raises Terminated (then the previous handler is back: in-process callers such
    as tests keep theirs)."""
    def handler(signum, frame) -> NoReturn:
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (an embedding application): keep its handler
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def one_line(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_LINE else text[:MAX_LINE - 3] + "..."


def _where(err: OSError) -> str:
    names = [n for n in (err.filename, err.filename2) if n is not None]
    return f"{' -> '.join(map(str, names))}: " if names else ""


def _os_error(err: OSError) -> str:
    from scenic.artifacts import is_disk_full

    where = _where(err)
    if is_disk_full(err):
        return f"{where}no space left on the device; free some space (or write elsewhere) and run again"
    fixes = {
        errno.EACCES: "permission denied; check the file's permissions or choose another path",
        errno.EPERM: "operation not permitted; check the file's permissions or choose another path",
        errno.EROFS: "read-only file system; choose a writable path",
        errno.ENOENT: "no such file or folder; check the path",
        errno.EISDIR: "is a folder where a file was expected; check the path",
        errno.ENOTDIR: "a part of the path is a file, not a folder; check the path",
        errno.ENAMETOOLONG: "the path is too long; use a shorter one",
        errno.EMFILE: "too many open files; raise the limit (ulimit -n) and run again",
    }
    return f"{where}{fixes.get(err.errno, one_line(err.strerror or str(err)))}"


def _library_error(err: BaseException) -> str | None:
    """A library's own exception type, named by what it means; None when it is not one we know."""
    kind = type(err)
    module = kind.__module__ or ""
    text = one_line(str(err))
    if isinstance(err, UnicodeDecodeError):
        return (f"input is not UTF-8 text ({err.reason} at byte {err.start}); convert it to UTF-8 "
                "(e.g. iconv -t UTF-8) and run again")
    if isinstance(err, json.JSONDecodeError):
        return f"a file is not valid JSON ({err.msg} at line {err.lineno}, column {err.colno}); fix or remake it"
    if module.startswith("safetensors") or kind.__name__ == "SafetensorError":
        return f"a weights file is corrupt or truncated ({text}); copy it again or remake it"
    if module.startswith("onnxruntime"):
        return f"onnxruntime could not load or run a graph ({text}); re-export, or copy the export again"
    if module.startswith("onnx"):
        return f"an ONNX graph is corrupt ({text}); re-export, or copy the export again"
    if module.startswith("yaml"):
        return f"a YAML file is not valid ({text}); fix it"
    if module.startswith(("tarfile", "zipfile", "zstandard")):
        return f"a bundle archive is corrupt or unsafe ({text}); copy it again or re-export it"
    if isinstance(err, MemoryError):
        return "out of memory; use a smaller batch size or model, or a machine with more memory"
    return None


def explain(err: BaseException) -> tuple[int, str | None]:
    """(exit code, the one line to print) for an exception that escaped a command (None: print nothing)."""
    from scenic.artifacts import is_disk_full

    if isinstance(err, _click_classes("Exit")):
        return err.exit_code, None
    if isinstance(err, _click_classes("Abort")):
        return EXIT_INTERRUPTED, "interrupted"
    if isinstance(err, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted"
    if isinstance(err, Terminated):
        return EXIT_TERMINATED, "terminated"
    if isinstance(err, ScenicError):
        return EXIT_ERROR, f"error: {one_line(str(err))}"
    if isinstance(err, OSError):
        if err.errno == errno.EPIPE:  # the reader went away (`scenic run ... | head`): nothing to say
            return EXIT_ERROR, None
        return EXIT_ERROR, f"error: {_os_error(err)}"
    if is_disk_full(err):  # a library that wraps ENOSPC in its own type
        return EXIT_ERROR, "error: no space left on the device; free some space (or write elsewhere) and run again"
    known = _library_error(err)
    if known is not None:
        return EXIT_ERROR, f"error: {known}"
    return EXIT_BUG, (f"internal error: {type(err).__name__}: {one_line(str(err))} (a bug in SCENIC: rerun with "
                      "`scenic --debug ...` for the traceback and report it)")


def _click_classes(name: str) -> tuple[type, ...]:
    """click's exception class `name`, and typer's own or vendored one (typer >= 0.22 vendors click)."""
    import importlib

    found = []
    for module in ("typer", "typer.exceptions", "typer._click.exceptions", "click.exceptions"):
        try:
            cls = getattr(importlib.import_module(module), name, None)
        except ImportError:
            continue
        if isinstance(cls, type) and cls not in found:
            found.append(cls)
    return tuple(found)


def usage_error(err: BaseException) -> bool:
    """A click/typer usage error (it prints itself, with the usage line)."""
    return isinstance(err, _click_classes("ClickException"))


def report(err: BaseException, debug: bool) -> int:
    """Print what the user needs about `err` (the traceback too with --debug) and return the exit code."""
    if usage_error(err):
        err.show()
        return err.exit_code
    try:
        code, line = explain(err)
    except Exception as bug:  # the boundary itself must never print a traceback
        code, line = EXIT_BUG, f"internal error: {type(err).__name__}: {one_line(str(err))} ({bug!r})"
    if debug and line is not None:
        traceback.print_exception(err, file=sys.stderr)
    if line:
        import typer

        typer.secho(line, fg=typer.colors.RED if code not in (EXIT_INTERRUPTED, EXIT_TERMINATED) else None, err=True)
    return code
