"""Shared fixtures. Tests never touch the network or ../shared."""

from __future__ import annotations

import pytest

from scenic.homes import default_home
from scenic.threads import apply_threads


@pytest.fixture(scope="session", autouse=True)
def one_thread_per_worker():
    """The suite runs as 2 workers on 2 cores: one compute thread each (scenic.threads keeps a process's first
    decision, so library calls inside the tests keep it too)."""
    apply_threads(1)


@pytest.fixture(scope="session")
def home():
    return default_home()
