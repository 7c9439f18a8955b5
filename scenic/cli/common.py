"""Shared CLI plumbing: recipe sections, overrides, and the 'not yet available' answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from scenic import ScenicError
from scenic.config.base import StrictModel, apply_overrides, read_yaml, validate_config

RECIPE_HELP = "A recipe YAML; its section for this stage supplies the options (command-line options win)."
SET_HELP = "Override a config key: key=value (repeatable)."
FORCE_HELP = ("Replace the SCENIC artifact --out holds, whatever its kind (never a folder holding other files, or one "
              "holding this command's inputs).")
THREADS_HELP = ("CPU threads for torch / onnxruntime / faiss (default: the cores this process may use, from its CPU "
                "affinity and cgroup quota; see docs/threads.md).")


def not_yet(stage: str) -> None:
    raise ScenicError(f"'scenic {stage}' is not yet available in this version")


def build_config(model: type[StrictModel], section: str, recipe: Path | None, cli_values: dict[str, Any],
                 overrides: list[str] | None = None):
    """Merge recipe section < explicit CLI options < key=value overrides, then validate (unknown keys are errors)."""
    data: dict[str, Any] = {}
    source = "options"
    if recipe is not None:
        doc = read_yaml(recipe) or {}
        if not isinstance(doc, dict):
            raise ScenicError(f"{recipe}: a recipe must be a mapping of stage sections")
        sec = doc.get(section) or {}
        if not isinstance(sec, dict):
            raise ScenicError(f"{recipe}: section '{section}' must be a mapping")
        data.update(sec)
        source = f"{recipe} [{section}]"
    data.update({k: v for k, v in cli_values.items() if v is not None})
    data = apply_overrides(data, overrides)
    return validate_config(model, data, source=source)


def echo_done(what: str, where: Path | str) -> None:
    typer.secho(f"{what}: {where}", fg=typer.colors.GREEN)
