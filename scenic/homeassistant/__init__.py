"""Home Assistant: import a home from its registries (`scenic home import`).

`import_storage(folder)` reads HA's `.storage` files, `import_live(url, token)` the websocket API; both return an
ImportResult (the Home, what was skipped and why, and satellite device -> area). `write_home(result, path)` writes the
home YAML only after it validates, through a temporary file renamed into place: never a half file.
Torch-free: this package is part of the runtime install.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from scenic.artifacts import write_text_atomic
from scenic.homeassistant.registries import ImportResult, Registries, Skipped, build_home
from scenic.homes import parse_home

__all__ = ["ImportResult", "Registries", "Skipped", "build_home", "import_storage", "import_live", "write_home",
           "write_satellites", "home_yaml"]


def import_storage(folder: str | Path) -> ImportResult:
    from scenic.homeassistant.storage import read_storage

    return build_home(read_storage(folder))


def import_live(url: str, token: str) -> tuple[ImportResult, str]:
    """(the import, HA's version)."""
    from scenic.homeassistant.live import read_live

    regs, version = read_live(url, token)
    return build_home(regs), version


def _flow(obj):
    """Lists of entries as one flow mapping a line, as the shipped default home is written (readable diffs)."""
    return yaml.safe_dump(obj, default_flow_style=True, sort_keys=False, allow_unicode=True, width=10_000).strip()


def home_yaml(result: ImportResult, source: str) -> str:
    home = result.home
    lines = [f"# Imported from Home Assistant ({source}) by `scenic home import`.",
             f"# {len(home.entities)} entities in {len(home.areas)} areas; {len(result.skipped)} entities skipped "
             "(the import printed which and why).",
             f"name: {json.dumps(home.name, ensure_ascii=False)}"]
    for key, items in (("floors", home.floors), ("areas", home.areas)):
        lines.append(f"{key}:" if items else f"{key}: []")
        lines += [f"  - {_flow(i.model_dump(exclude_defaults=True))}" for i in items]
    lines.append("entities:" if home.entities else "entities: []")
    for e in home.entities:
        item = e.model_dump(exclude_defaults=True)
        if item.get("attributes") == {}:
            item.pop("attributes")
        lines.append(f"  - {_flow(item)}")
    return "\n".join(lines) + "\n"


def write_home(result: ImportResult, path: str | Path, source: str) -> Path:
    text = home_yaml(result, source)
    again = parse_home(yaml.safe_load(text), source=str(path))  # the file we write must load back to the same home
    if again != result.home:
        raise AssertionError("the home YAML does not round-trip")  # a bug in home_yaml, never the user's data
    return write_text_atomic(path, text)


def write_satellites(result: ImportResult, path: str | Path) -> Path:
    """device id (and assist_satellite entity id) -> area name, for `scenic serve --satellites`."""
    text = ("# Home Assistant device -> area, for `scenic serve --satellites` (requests from a satellite in an area).\n"
            + yaml.safe_dump(dict(sorted(result.satellites.items())), allow_unicode=True, sort_keys=False))
    return write_text_atomic(path, text)
