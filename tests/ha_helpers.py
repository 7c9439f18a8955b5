"""Home Assistant's registries for the default home, written here in HA's documented formats (no tests here).

`storage_files(folder)` writes a `.storage` folder (core.area_registry, core.floor_registry, core.device_registry,
core.entity_registry, homeassistant.exposed_entities, core.config) in the shapes HA's registries save: the `Store`
envelope, storage ids (`id` for areas, `floor_id` for floors), capabilities and supported_features in the entity
registry, exposure in `options.conversation.should_expose`. `StubHomeAssistant` answers the websocket API's message
shapes for the same home (`area_id` in area lists, partial entity-registry lists, `get_entries`, `get_states`).

The default home's 58 entities are spread over HA's ways of naming and placing an entity (user name, device name with
has_entity_name, original name; area on the entity or inherited from its device; exposure stored or by default), and
EXTRA adds the ones an import must leave out, each for one reason.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

from scenic.homes import default_home

T = "2024-06-01T12:00:00.000000+00:00"
SATELLITE_DEVICE = "dev_kitchen_satellite"


def _light_modes(e) -> list[str]:
    if e.attributes.color:
        return ["color_temp", "hs"]
    return ["brightness"] if e.attributes.brightness else ["onoff"]


def _capabilities(e) -> tuple[dict[str, Any] | None, int, str | None]:
    """(registry capabilities, supported_features, original_device_class) as HA's integrations report them."""
    d, a = e.domain, e.attributes
    if d == "light":
        return {"supported_color_modes": _light_modes(e)}, 0, None
    if d == "cover":
        return None, 15 if a.position else 3, a.device_class  # OPEN|CLOSE(|SET_POSITION|STOP)
    if d == "valve":
        return None, 7 if a.position else 3, None
    if d == "fan":
        return {"preset_modes": None}, 49 if a.speed else 48, None  # TURN_ON|TURN_OFF (|SET_SPEED)
    if d == "media_player":
        return None, 21437 if a.volume else 21433, None  # PAUSE|...|PLAY (|VOLUME_SET)
    if d == "climate":
        return {"hvac_modes": ["off", "heat"], "min_temp": a.min_temp, "max_temp": a.max_temp,
                "target_temp_step": 0.5}, 385, None
    return None, 0, None


def _entry(entity_id: str, **fields) -> dict[str, Any]:
    """An entity registry entry with every key HA's storage has (values overridable)."""
    base = {"aliases": [], "area_id": None, "categories": {}, "capabilities": None, "config_entry_id": "cfg1",
            "config_subentry_id": None, "created_at": T, "device_class": None, "device_id": None,
            "disabled_by": None, "entity_category": None, "entity_id": entity_id, "hidden_by": None, "icon": None,
            "id": f"uuid_{entity_id}", "has_entity_name": False, "labels": [], "modified_at": T, "name": None,
            "options": {}, "original_device_class": None, "original_icon": None, "original_name": None,
            "platform": "demo", "suggested_object_id": None, "supported_features": 0, "translation_key": None,
            "unique_id": f"uid_{entity_id}", "previous_unique_id": None, "unit_of_measurement": None}
    base.update(fields)
    return base


def _device(dev_id: str, name: str, area_id: str | None, disabled_by: str | None = None) -> dict[str, Any]:
    return {"area_id": area_id, "config_entries": ["cfg1"], "config_entries_subentries": {"cfg1": [None]},
            "configuration_url": None, "connections": [], "created_at": T, "disabled_by": disabled_by,
            "entry_type": None, "hw_version": None, "id": dev_id, "identifiers": [["demo", dev_id]], "labels": [],
            "manufacturer": "Demo", "model": "Demo", "model_id": None, "modified_at": T, "name_by_user": None,
            "name": name, "primary_config_entry": "cfg1", "serial_number": None, "sw_version": None,
            "via_device_id": None}


def registries() -> dict[str, Any]:
    """{areas, floors, devices, entities, legacy_exposed, expected_skips} for the default home plus EXTRA."""
    home = default_home()
    floors = [{"aliases": [], "created_at": T, "floor_id": f.id, "icon": None, "level": i, "modified_at": T,
               "name": f.name} for i, f in enumerate(home.floors)]
    areas = [{"aliases": list(a.aliases), "created_at": T, "floor_id": a.floor, "humidity_entity_id": None,
              "icon": None, "id": a.id, "labels": [], "modified_at": T, "name": a.name, "picture": None,
              "temperature_entity_id": None} for a in home.areas]
    devices, entities = [], []
    for i, e in enumerate(home.entities):
        caps, features, device_class = _capabilities(e)
        fields = {"capabilities": caps, "supported_features": features, "original_device_class": device_class,
                  "aliases": list(e.aliases)}
        if e.domain in ("lock", "valve") or i % 3 == 0:  # locks and valves are not exposed by default in HA
            fields["options"] = {"conversation": {"should_expose": True}}
        style = i % 4
        if style == 0:  # area and name on the entity itself (a user-set name)
            fields.update(area_id=e.area, name=e.name, original_name="Something Else")
        elif style == 1:  # a device in the area; the entity is the device's main feature (has_entity_name, no name)
            dev = f"dev_{i}"
            devices.append(_device(dev, e.name, e.area))
            fields.update(device_id=dev, has_entity_name=True, original_name=None)
        elif style == 2:  # a device "<area> Hub" in the area; the entity named by its original name
            dev = f"dev_{i}"
            devices.append(_device(dev, f"{e.area} hub", e.area))
            fields.update(device_id=dev, original_name=e.name)
        else:  # a device elsewhere, overridden by the entity's own area
            dev = f"dev_{i}"
            devices.append(_device(dev, "Box", "garage"))
            fields.update(device_id=dev, area_id=e.area, name=e.name)
        entities.append(_entry(e.id, **fields))
    devices.append(_device("dev_disabled", "Guest Lamp", "bedroom", disabled_by="user"))
    devices.append(_device(SATELLITE_DEVICE, "Kitchen Satellite", "kitchen"))
    shown = {"conversation": {"should_expose": True}}
    extra = [  # (entry, the reason the import must give)
        (_entry("sensor.kitchen_temperature", area_id="kitchen", original_name="Temperature", options=shown),
         "domain 'sensor'"),
        (_entry("assist_satellite.kitchen", device_id=SATELLITE_DEVICE, has_entity_name=True,
                original_name="Assist satellite"), "domain 'assist_satellite'"),
        (_entry("light.attic_bulb", area_id="bedroom", name="Attic Bulb", disabled_by="user",
                capabilities={"supported_color_modes": ["onoff"]}, options=shown), "disabled (by user)"),
        (_entry("light.guest_lamp", device_id="dev_disabled", has_entity_name=True,
                capabilities={"supported_color_modes": ["onoff"]}), "its device is disabled"),
        (_entry("switch.study_secret", area_id="study", name="Secret",
                options={"conversation": {"should_expose": False}}), "not exposed"),
        (_entry("switch.bedroom_child_lock", area_id="bedroom", name="Child Lock", entity_category="config"),
         "not exposed"),
        (_entry("lock.back_gate", area_id="garden", name="Back Gate"), "not exposed"),  # locks: not by default
        (_entry("light.shed", name="Shed Light", capabilities={"supported_color_modes": ["onoff"]}, options=shown),
         "no area"),
        (_entry("cover.attic_damper", area_id="bedroom", name="Damper", original_device_class="damper",
                supported_features=3, options=shown), "cover device class 'damper'"),
        (_entry("light.kitchen_ceiling_2", area_id="kitchen", name="Ceiling Light",
                capabilities={"supported_color_modes": ["onoff"]}, options=shown),
         "same name as light.kitchen_ceiling"),
    ]
    entities += [entry for entry, _ in extra]
    skips = {entry["entity_id"]: why for entry, why in extra}
    skips["switch.legacy_fountain"] = "not in the entity registry"
    legacy = {"switch.legacy_fountain": {"assistants": {"conversation": {"should_expose": True}}}}
    return {"areas": areas, "floors": floors, "devices": devices, "entities": entities, "legacy_exposed": legacy,
            "expected_skips": skips, "name": home.name}


def _store(key: str, version: int, minor: int, data: dict[str, Any]) -> str:
    return json.dumps({"version": version, "minor_version": minor, "key": key, "data": data}, indent=4)


def storage_files(folder: Path) -> dict[str, Any]:
    """Write the default home's `.storage` files into `folder`; returns registries() for the expectations."""
    regs = registries()
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "core.area_registry": (1, 7, {"areas": regs["areas"]}),
        "core.floor_registry": (1, 2, {"floors": regs["floors"]}),
        "core.device_registry": (1, 8, {"devices": regs["devices"], "deleted_devices": []}),
        "core.entity_registry": (1, 16, {"entities": regs["entities"], "deleted_entities": []}),
        "homeassistant.exposed_entities": (1, 1, {"assistants": {"conversation": {"expose_new": True}},
                                                  "exposed_entities": regs["legacy_exposed"]}),
        "core.config": (1, 4, {"latitude": 52.37, "longitude": 4.89, "elevation": 0, "unit_system_v2": "metric",
                               "location_name": regs["name"], "time_zone": "Europe/Amsterdam",
                               "external_url": None, "internal_url": None, "currency": "EUR", "country": "NL",
                               "language": "en", "radius": 100}),
    }
    for key, (version, minor, data) in files.items():
        (folder / key).write_text(_store(key, version, minor, data), encoding="utf-8")
    return regs


# ---- the websocket API ------------------------------------------------------------------------------------------
_PARTIAL = ("area_id", "categories", "config_entry_id", "device_id", "disabled_by", "entity_category", "entity_id",
            "has_entity_name", "hidden_by", "icon", "id", "labels", "name", "options", "original_name", "platform",
            "translation_key", "unique_id")
_EXTENDED = ("aliases", "capabilities", "device_class", "original_device_class", "original_icon")


def _state(entry: dict[str, Any]) -> dict[str, Any]:
    attrs = dict(entry.get("capabilities") or {})
    attrs["supported_features"] = entry["supported_features"]
    if entry.get("original_device_class"):
        attrs["device_class"] = entry["original_device_class"]
    attrs["friendly_name"] = entry.get("name") or entry.get("original_name") or entry["entity_id"]
    return {"entity_id": entry["entity_id"], "state": "off", "attributes": attrs, "last_changed": T,
            "last_reported": T, "last_updated": T, "context": {"id": "c", "parent_id": None, "user_id": None}}


class StubHomeAssistant:
    """A websocket server on 127.0.0.1 that answers Home Assistant's message shapes for `registries()`.

    `admin=False` answers the admin-only exposure commands with `unauthorized`, as HA does for a non-admin token.
    Runs in a thread with its own event loop; `url` is its http:// address; `received` the messages it was sent.
    """

    TOKEN = "good-token"

    def __init__(self, admin: bool = True, ha_version: str = "2025.6.0"):
        self.regs = registries()
        self.admin = admin
        self.ha_version = ha_version
        self.received: list[dict[str, Any]] = []
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    def _result(self, msg: dict[str, Any]) -> dict[str, Any]:
        regs, kind = self.regs, msg["type"]
        by_id = {e["entity_id"]: e for e in regs["entities"]}
        if kind == "config/area_registry/list":
            result = [{**{k: v for k, v in a.items() if k != "id"}, "area_id": a["id"]} for a in regs["areas"]]
        elif kind == "config/floor_registry/list":
            result = regs["floors"]
        elif kind == "config/device_registry/list":
            result = regs["devices"]
        elif kind == "config/entity_registry/list":
            result = [{k: e[k] for k in _PARTIAL} for e in regs["entities"]]
        elif kind == "config/entity_registry/get_entries":
            result = {eid: ({**{k: by_id[eid][k] for k in _PARTIAL}, **{k: by_id[eid][k] for k in _EXTENDED}}
                            if eid in by_id else None) for eid in msg["entity_ids"]}
        elif kind == "get_states":
            result = [_state(e) for e in regs["entities"] if not e["disabled_by"]]
            result.append({"entity_id": "switch.legacy_fountain", "state": "on", "attributes": {}})
        elif kind == "get_config":
            result = {"location_name": regs["name"], "version": self.ha_version, "components": ["wyoming"]}
        elif kind in ("homeassistant/expose_entity/list", "homeassistant/expose_new_entities/get"):
            if not self.admin:
                return {"id": msg["id"], "type": "result", "success": False,
                        "error": {"code": "unauthorized", "message": "Unauthorized"}}
            if kind.endswith("/get"):
                result = {"expose_new": True}
            else:
                exposed = {eid: {"conversation": e["options"]["conversation"]["should_expose"]}
                           for eid, e in by_id.items() if "conversation" in (e["options"] or {})}
                exposed["switch.legacy_fountain"] = {"conversation": True}
                result = {"exposed_entities": exposed}
        else:
            return {"id": msg["id"], "type": "result", "success": False,
                    "error": {"code": "unknown_command", "message": "Unknown command."}}
        return {"id": msg["id"], "type": "result", "success": True, "result": result}

    async def _handle(self, ws) -> None:
        await ws.send(json.dumps({"type": "auth_required", "ha_version": self.ha_version}))
        auth = json.loads(await ws.recv())
        self.received.append(auth)
        if auth.get("type") != "auth" or auth.get("access_token") != self.TOKEN:
            await ws.send(json.dumps({"type": "auth_invalid", "message": "Invalid access token or password"}))
            return
        await ws.send(json.dumps({"type": "auth_ok", "ha_version": self.ha_version}))
        async for raw in ws:
            msg = json.loads(raw)
            self.received.append(msg)
            await ws.send(json.dumps(self._result(msg)))

    async def _main(self) -> None:
        from websockets.asyncio.server import serve

        self._stop = asyncio.Event()
        async with serve(self._handle, "127.0.0.1", 0, max_size=None) as server:
            port = server.sockets[0].getsockname()[1]
            self.url = f"http://127.0.0.1:{port}"
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> "StubHomeAssistant":
        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._main())
            self._loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "the stub did not start"
        return self

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
