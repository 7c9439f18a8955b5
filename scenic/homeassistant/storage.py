"""Reading Home Assistant's `.storage` folder (the registries HA keeps as JSON files beside configuration.yaml).

Each file is HA's `Store` envelope: `{"version": 1, "minor_version": N, "key": "<file name>", "data": {...}}`.
Only the fields `registries.build_home` uses are read, so newer minor versions that add fields keep working; a file
whose major version is not 1 is refused rather than guessed at.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scenic import ScenicError
from scenic.homeassistant.registries import ASSISTANT, Registries

AREAS, FLOORS = "core.area_registry", "core.floor_registry"
DEVICES, ENTITIES = "core.device_registry", "core.entity_registry"
EXPOSED = "homeassistant.exposed_entities"
CONFIG = "core.config"
REQUIRED = (AREAS, ENTITIES)  # floors (HA >= 2024.4), devices, exposure settings and core.config are optional


class StorageError(ScenicError):
    """A `.storage` folder or file that is not what Home Assistant writes."""


def _read(folder: Path, key: str) -> dict[str, Any] | None:
    path = folder / key
    if not path.is_file():
        if key in REQUIRED:
            raise StorageError(f"{folder}: no {key} file (is this Home Assistant's .storage folder? It sits beside "
                               "configuration.yaml)")
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise StorageError(f"{path}: not a JSON file ({err}); copy it again from Home Assistant") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), dict):
        raise StorageError(f"{path}: not a Home Assistant storage file (no 'data' object)")
    if doc.get("key") not in (None, key):
        raise StorageError(f"{path}: holds '{doc.get('key')}', not {key}")
    if doc.get("version") != 1:
        raise StorageError(f"{path}: storage version {doc.get('version')} (this importer reads version 1); "
                           "import live with --url/--token instead")
    return doc["data"]


def _list(data: dict[str, Any] | None, key: str, path: Path) -> list[dict[str, Any]]:
    items = (data or {}).get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise StorageError(f"{path}: '{key}' is not a list of objects")
    return items


def read_storage(folder: str | Path) -> Registries:
    """The registries of a `.storage` folder (a copy of it is fine: HA need not be running)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise StorageError(f"{folder}: no such folder (pass Home Assistant's config/.storage folder)")
    areas = _read(folder, AREAS)
    entities = _read(folder, ENTITIES)
    exposed = _read(folder, EXPOSED) or {}
    config = _read(folder, CONFIG) or {}
    prefs = (exposed.get("assistants") or {}).get(ASSISTANT) or {}
    legacy = exposed.get("exposed_entities") or {}
    exposure = {eid: bool(s["assistants"][ASSISTANT]["should_expose"]) for eid, s in legacy.items()
                if "should_expose" in ((s or {}).get("assistants") or {}).get(ASSISTANT, {})}
    registered = {e.get("entity_id") for e in _list(entities, "entities", folder / ENTITIES)}
    return Registries(
        areas=_list(areas, "areas", folder / AREAS),
        floors=_list(_read(folder, FLOORS), "floors", folder / FLOORS),
        devices=_list(_read(folder, DEVICES), "devices", folder / DEVICES),
        entities=_list(entities, "entities", folder / ENTITIES),
        exposure=exposure,
        expose_new=bool(prefs.get("expose_new", True)),
        unregistered=sorted(eid for eid in legacy if eid not in registered),
        name=config.get("location_name"),
    )
