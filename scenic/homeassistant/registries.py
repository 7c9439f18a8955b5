"""Home Assistant's registries -> a SCENIC home, with every entity left out named and the reason given.

Both import paths (the `.storage` files and the live websocket API) reduce HA's data to a `Registries` value; this
module alone decides what becomes of it, so the two paths cannot drift apart. The rules follow HA's own:

- an entity's area is its own `area_id`, else its device's (HA's area inheritance);
- its name is the registry `name` the user set, else (with `has_entity_name`) the device name plus the entity's
  `original_name`, else the `original_name`, else the state's `friendly_name`;
- it is taken only when exposed to Assist: `options.conversation.should_expose` when HA stored one, else HA's default
  (`expose_new` on, a default-exposed domain, not hidden, no entity category);
- capabilities come from the registry's `capabilities` / `supported_features` (and the live state's attributes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from scenic.homes import DOMAINS, Home, parse_home
from scenic.homes.schema import COVER_CLASSES

ASSISTANT = "conversation"  # HA's name for Assist in exposure settings
# HA's `DEFAULT_EXPOSED_DOMAINS` (homeassistant/components/homeassistant/exposed_entities.py), limited to the domains
# SCENIC knows: an entity with no stored setting is exposed by default only in these (locks and valves are not).
DEFAULT_EXPOSED = frozenset({"climate", "cover", "fan", "light", "media_player", "switch", "vacuum"})

# HA's feature bits (CoverEntityFeature.SET_POSITION, ValveEntityFeature.SET_POSITION, FanEntityFeature.SET_SPEED,
# MediaPlayerEntityFeature.VOLUME_SET) and light colour modes.
SET_POSITION, SET_SPEED, VOLUME_SET = 4, 1, 4
LEGACY_BRIGHTNESS, LEGACY_COLOR = 1, 16  # lights without supported_color_modes (pre-2021 integrations)
COLOR_MODES = frozenset({"hs", "xy", "rgb", "rgbw", "rgbww"})
DIMMABLE_MODES = COLOR_MODES | {"brightness", "color_temp", "white"}

_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass
class Registries:
    """What both import paths read from Home Assistant, in HA's own field names."""

    areas: list[dict[str, Any]]
    entities: list[dict[str, Any]]
    floors: list[dict[str, Any]] = field(default_factory=list)
    devices: list[dict[str, Any]] = field(default_factory=list)
    exposure: dict[str, bool] = field(default_factory=dict)  # entity_id -> should_expose (outside the registry)
    expose_new: bool = True  # HA's default for Assist
    states: dict[str, dict[str, Any]] = field(default_factory=dict)  # entity_id -> attributes (live only)
    unregistered: list[str] = field(default_factory=list)  # entity ids HA knows outside the entity registry
    name: str | None = None  # HA's location name


@dataclass(frozen=True)
class Skipped:
    entity_id: str
    reason: str


@dataclass
class ImportResult:
    home: Home
    skipped: list[Skipped]
    satellites: dict[str, str]  # device id / assist_satellite entity id -> area name (for `scenic serve --satellites`)

    def skipped_by_reason(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for s in self.skipped:
            out.setdefault(s.reason, []).append(s.entity_id)
        return out


def _slug(text: str, taken: set[str], fallback: str) -> str:
    """An id in the home schema's alphabet ([a-z0-9_]); HA's own ids already are, except some non-Latin names."""
    base = _SLUG.sub("_", text.lower()).strip("_") or fallback
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}_{n}", n + 1
    taken.add(slug)
    return slug


def _strings(values: Iterable[Any] | None) -> list[str]:
    """Aliases as strings (HA stores a null alias meaning 'the entity's own name': nothing to add)."""
    return [v.strip() for v in values or () if isinstance(v, str) and v.strip()]


def _should_expose(entry: dict[str, Any], regs: Registries) -> bool:
    options = (entry.get("options") or {}).get(ASSISTANT) or {}
    if "should_expose" in options:
        return bool(options["should_expose"])
    if entry["entity_id"] in regs.exposure:
        return regs.exposure[entry["entity_id"]]
    if not regs.expose_new or entry.get("entity_category") or entry.get("hidden_by"):
        return False
    return entry["entity_id"].split(".", 1)[0] in DEFAULT_EXPOSED


def _name(entry: dict[str, Any], device: dict[str, Any] | None, state: dict[str, Any]) -> str | None:
    if entry.get("name"):
        return entry["name"]
    original = entry.get("original_name")
    if entry.get("has_entity_name") and device is not None:
        device_name = device.get("name_by_user") or device.get("name")
        if device_name:
            return f"{device_name} {original}" if original else device_name
    return original or state.get("friendly_name")


def _attributes(domain: str, entry: dict[str, Any], state: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """(the home schema's attributes, None) or (None, why the entity cannot be described)."""
    caps = {**(entry.get("capabilities") or {}), **state}
    features = int(state.get("supported_features", entry.get("supported_features")) or 0)
    if domain == "light":
        modes = set(caps.get("supported_color_modes") or ())
        if modes:
            return {"brightness": bool(modes & DIMMABLE_MODES), "color": bool(modes & COLOR_MODES)}, None
        return {"brightness": bool(features & LEGACY_BRIGHTNESS), "color": bool(features & LEGACY_COLOR)}, None
    if domain == "cover":
        device_class = entry.get("device_class") or entry.get("original_device_class") or state.get("device_class")
        if device_class not in COVER_CLASSES:
            return None, (f"cover device class {device_class!r} is not one the home schema knows "
                          f"({', '.join(COVER_CLASSES)}); set one in HA")
        return {"device_class": device_class, "position": bool(features & SET_POSITION)}, None
    if domain == "valve":
        return {"position": bool(features & SET_POSITION)}, None
    if domain == "fan":
        return {"speed": bool(features & SET_SPEED)}, None
    if domain == "media_player":
        return {"volume": bool(features & VOLUME_SET)}, None
    if domain == "climate":
        lo, hi = caps.get("min_temp"), caps.get("max_temp")
        if not isinstance(lo, (int, float)) or not isinstance(hi, (int, float)) or lo >= hi:
            return None, "climate entity without a min_temp < max_temp range"
        return {"min_temp": lo, "max_temp": hi}, None
    return {}, None


def build_home(regs: Registries) -> ImportResult:
    """The SCENIC home for `regs`; raises HomeError only if HA's data contradict themselves (e.g. two areas that
    HA would also refuse to tell apart)."""
    floor_ids: dict[str, str] = {}
    taken: set[str] = set()
    floors = []
    for f in regs.floors:
        ha_id = f.get("floor_id") or f.get("id")
        if not ha_id or not f.get("name"):
            continue
        floor_ids[ha_id] = _slug(ha_id, taken, "floor")
        floors.append({"name": f["name"], "id": floor_ids[ha_id]})
    area_ids: dict[str, str] = {}
    area_names: dict[str, str] = {}
    taken = set()
    areas = []
    for a in regs.areas:
        ha_id = a.get("id") or a.get("area_id")
        if not ha_id or not a.get("name"):
            continue
        area_ids[ha_id] = _slug(ha_id, taken, "area")
        area_names[ha_id] = a["name"]
        area = {"name": a["name"], "id": area_ids[ha_id]}
        if a.get("floor_id") in floor_ids:
            area["floor"] = floor_ids[a["floor_id"]]
        if aliases := _strings(a.get("aliases")):
            area["aliases"] = aliases
        areas.append(area)
    devices = {d["id"]: d for d in regs.devices if d.get("id")}

    skipped: list[Skipped] = []
    entities: list[tuple[int, str, dict[str, Any]]] = []
    names_in_area: dict[tuple[str, str], str] = {}
    order = {ha_id: i for i, ha_id in enumerate(area_ids)}
    satellites: dict[str, str] = {}
    for d in devices.values():
        if d.get("area_id") in area_names:
            satellites[d["id"]] = area_names[d["area_id"]]
    for entry in regs.entities:
        entity_id = entry.get("entity_id") or ""
        domain = entity_id.split(".", 1)[0]
        device = devices.get(entry.get("device_id"))
        ha_area = entry.get("area_id") or (device or {}).get("area_id")
        if domain == "assist_satellite" and ha_area in area_names:
            satellites[entity_id] = area_names[ha_area]
        reason = None
        state = regs.states.get(entity_id, {})
        if domain not in DOMAINS:
            reason = f"domain '{domain}' is not in the home schema"
        elif entry.get("disabled_by"):
            reason = f"disabled (by {entry['disabled_by']})"
        elif device is not None and device.get("disabled_by"):
            reason = f"its device is disabled (by {device['disabled_by']})"
        elif not _should_expose(entry, regs):
            reason = "not exposed to Assist"
        elif ha_area not in area_ids:
            reason = "no area (set one on the entity or its device)" if not ha_area else f"unknown area '{ha_area}'"
        if reason is None:
            attributes, reason = _attributes(domain, entry, state)
        name = None if reason else _name(entry, device, state)
        if reason is None and not name:
            reason = "no name"
        if reason is None:
            key = (area_ids[ha_area], name.casefold())
            if key in names_in_area:
                reason = f"same name as {names_in_area[key]} in area '{area_names[ha_area]}'"
            else:
                names_in_area[key] = entity_id
        if reason is not None:
            skipped.append(Skipped(entity_id, reason))
            continue
        item: dict[str, Any] = {"name": name, "id": entity_id, "area": area_ids[ha_area]}
        if attrs := {k: v for k, v in attributes.items() if v not in (False, None)}:
            item["attributes"] = attrs
        if aliases := [s for s in _strings(entry.get("aliases")) if s.casefold() != name.casefold()]:
            item["aliases"] = aliases
        entities.append((order[ha_area], entity_id, item))
    for entity_id in regs.unregistered:
        if entity_id.split(".", 1)[0] in DOMAINS:
            skipped.append(Skipped(entity_id, "not in the entity registry (no unique id), so it has no area"))
    entities.sort(key=lambda t: (t[0], t[1]))
    doc = {"name": regs.name or "Home", "floors": floors, "areas": areas, "entities": [e for _, _, e in entities]}
    home = parse_home(doc, source="imported home")
    return ImportResult(home, skipped, satellites)
