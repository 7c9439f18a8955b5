"""Run the `scenic` CLI in-process (no tests here)."""

from __future__ import annotations

import sys


def run_cli(monkeypatch, *args) -> int:
    """`scenic ARGS...` as a user would type it; returns the exit code."""
    from scenic.cli import main

    monkeypatch.setattr(sys, "argv", ["scenic", *map(str, args)])
    try:
        main()
    except SystemExit as exc:
        return exc.code or 0
    return 0
