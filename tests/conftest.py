"""Shared fixtures. Tests never touch the network or ../shared."""

from __future__ import annotations

import pytest

from scenic.homes import default_home


@pytest.fixture(scope="session")
def home():
    return default_home()
