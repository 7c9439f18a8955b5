"""SCENIC: structured-command language models for edge devices."""

__version__ = "0.1.0"


class ScenicError(Exception):
    """A user-facing error: the CLI prints its message on one line and exits non-zero."""
