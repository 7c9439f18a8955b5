"""Strict pydantic configs: an unknown key or a bad value is an error that names the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from scenic import ScenicError


class ConfigError(ScenicError):
    """A config or recipe that does not validate."""


class StrictModel(BaseModel):
    """Base for every config: forbids unknown keys so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


M = TypeVar("M", bound=StrictModel)


def format_validation_error(err: ValidationError, source: str = "config") -> str:
    """One line per problem, each naming the dotted key, so the user knows what to fix."""
    parts = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "<root>"
        if e["type"] == "extra_forbidden":
            parts.append(f"unknown key '{key}'")
        else:
            parts.append(f"'{key}': {e['msg']} (got {e.get('input')!r})")
    return f"{source}: " + "; ".join(parts)


def validate_config(model: type[M], data: dict[str, Any], source: str = "config") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, source)) from None


def read_yaml(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    try:
        # libyaml's loader when PyYAML has it: the pure-Python one took 37 s for a 10,000-entity home
        return yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where} not valid YAML: {getattr(err, 'problem', err)}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start}); save it as UTF-8") from None


def apply_overrides(data: dict[str, Any], overrides: list[str] | None) -> dict[str, Any]:
    """torchtune-style `a.b=value` overrides; the value is parsed as YAML (numbers, bools, lists)."""
    out = dict(data)
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(f"override '{item}' must look like key=value")
        key, raw = item.split("=", 1)
        value = yaml.safe_load(raw) if raw != "" else ""
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            child = node.get(p)
            child = dict(child) if isinstance(child, dict) else {}
            node[p] = child
            node = child
        node[parts[-1]] = value
    return out


def load_config(model: type[M], path: str | Path, overrides: list[str] | None = None, section: str | None = None) -> M:
    """Load a YAML file (or one section of a recipe) into a validated config."""
    data = read_yaml(path) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    if section is not None:
        data = data.get(section) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: '{section}' must be a mapping")
    data = apply_overrides(data, overrides)
    return validate_config(model, data, source=str(path) + (f" [{section}]" if section else ""))
