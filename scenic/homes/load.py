"""Loading homes from YAML with errors that name the offending entry."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from scenic.artifacts import sha256_json
from scenic.config.base import ConfigError, format_validation_error, read_yaml
from scenic.homes.schema import Home, HomeError

DEFAULT_HOME_PATH = Path(__file__).with_name("default_home.yaml")


def _describe_loc(data: dict[str, Any], loc: tuple) -> str:
    """Turn ('entities', 3, 'area') into "entities[3] (light.x)" so the message names the entry, not an index."""
    if len(loc) >= 2 and isinstance(loc[1], int):
        items = data.get(loc[0]) or []
        if loc[1] < len(items) and isinstance(items[loc[1]], dict):
            ident = items[loc[1]].get("id") or items[loc[1]].get("name")
            if ident:
                return f"{loc[0]}[{loc[1]}] ({ident})"
    return ""


def parse_home(data: Any, source: str = "home") -> Home:
    if not isinstance(data, dict):
        raise HomeError(f"{source}: a home must be a mapping with floors, areas and entities")
    try:
        return Home.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = _describe_loc(data, tuple(first["loc"]))
        msg = format_validation_error(err, source)
        if first["type"] == "value_error":  # our own checks word the message; add the entry when pydantic knows it
            msg = f"{source}: {where + ': ' if where else ''}{first['msg'].removeprefix('Value error, ')}"
        elif where:
            msg = f"{msg} [entry {where}]"
        raise HomeError(msg) from None


def load_home(path: str | Path | None = None) -> Home:
    if path is None:
        return default_home()
    try:
        data = read_yaml(path)
    except ConfigError as err:
        raise HomeError(str(err)) from None
    return parse_home(data, source=str(path))


@lru_cache(maxsize=1)
def default_home() -> Home:
    return parse_home(read_yaml(DEFAULT_HOME_PATH), source="default home")


def home_hash(home: Home) -> str:
    return sha256_json(home.model_dump(mode="json"))
