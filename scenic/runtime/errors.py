"""Runtime errors: all user-facing (one line, the CLI prints them and exits 2)."""

from __future__ import annotations

from scenic import ScenicError


class ExportIntegrityError(ScenicError):
    """An export file is missing, truncated or modified: loading it could run a different model than was checked."""


class ExportFormatError(ScenicError):
    """A folder that is not an export this runtime understands."""
