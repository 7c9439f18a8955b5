"""Reading the registries from a running Home Assistant over its websocket API (`/api/websocket`).

The exchange is HA's documented one: the server says `auth_required`, the client answers `auth` with a long-lived
access token, then sends numbered commands and reads `result` messages with the same id. The registry list commands
give areas, floors, devices and entities; `config/entity_registry/get_entries` adds what the list leaves out
(aliases, capabilities, device classes); `get_states` gives the live attributes (colour modes, temperature range,
supported features); `homeassistant/expose_entity/list` and `.../expose_new_entities/get` give Assist exposure (both
need an admin token; without one the exposure stored in the entity registry's options is used).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from scenic import ScenicError
from scenic.homeassistant.registries import ASSISTANT, Registries

TIMEOUT_S = 30.0
MAX_MESSAGE = 256 << 20  # a large home's entity registry is several MB; the library's 1 MiB default is too small


class LiveImportError(ScenicError):
    """Home Assistant could not be reached, refused the token, or answered a command with an error."""


def websocket_url(url: str) -> str:
    """`http://ha.local:8123` -> `ws://ha.local:8123/api/websocket` (https -> wss); a ws(s):// URL is kept."""
    parts = urlsplit(url.strip())
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise LiveImportError(f"--url {url!r}: give Home Assistant's address, e.g. http://homeassistant.local:8123")
    path = parts.path.rstrip("/")
    if not path.endswith("/api/websocket"):
        path += "/api/websocket"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


class _Session:
    """One authenticated websocket connection: `call(type, **fields)` -> the result, or LiveImportError."""

    def __init__(self, ws):
        self.ws = ws
        self.next_id = 1

    async def receive(self) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), TIMEOUT_S)
        try:
            msg = json.loads(raw)
        except (TypeError, json.JSONDecodeError):
            raise LiveImportError(f"Home Assistant sent a message that is not JSON: {str(raw)[:80]!r}") from None
        if not isinstance(msg, dict):
            raise LiveImportError(f"Home Assistant sent an unexpected message: {str(msg)[:80]}")
        return msg

    async def authenticate(self, token: str) -> str:
        hello = await self.receive()
        if hello.get("type") != "auth_required":
            raise LiveImportError(f"not a Home Assistant websocket (first message: {hello.get('type')!r})")
        await self.ws.send(json.dumps({"type": "auth", "access_token": token}))
        answer = await self.receive()
        if answer.get("type") == "auth_invalid":
            raise LiveImportError(f"Home Assistant refused the token ({answer.get('message', 'auth_invalid')}); "
                                  "create a long-lived access token in your HA user profile")
        if answer.get("type") != "auth_ok":
            raise LiveImportError(f"unexpected answer to auth: {answer.get('type')!r}")
        return str(answer.get("ha_version", "unknown"))

    async def call(self, kind: str, **fields: Any) -> Any:
        msg_id, self.next_id = self.next_id, self.next_id + 1
        await self.ws.send(json.dumps({"id": msg_id, "type": kind, **fields}))
        while True:
            msg = await self.receive()
            if msg.get("id") == msg_id and msg.get("type") == "result":
                break
        if not msg.get("success"):
            err = msg.get("error") or {}
            raise _CommandError(kind, err.get("code", "error"), err.get("message", ""))
        return msg.get("result")


class _CommandError(LiveImportError):
    def __init__(self, kind: str, code: str, message: str):
        super().__init__(f"Home Assistant answered {kind} with {code}: {message}")
        self.code = code


async def _read(url: str, token: str) -> tuple[Registries, str]:
    from websockets.asyncio.client import connect

    async with connect(websocket_url(url), max_size=MAX_MESSAGE, proxy=None, open_timeout=TIMEOUT_S) as ws:
        s = _Session(ws)
        version = await s.authenticate(token)
        areas = await s.call("config/area_registry/list")
        try:
            floors = await s.call("config/floor_registry/list")
        except _CommandError as err:  # HA before 2024.4 has no floors
            if err.code != "unknown_command":
                raise
            floors = []
        devices = await s.call("config/device_registry/list")
        listed = await s.call("config/entity_registry/list")
        ids = [e["entity_id"] for e in listed if isinstance(e, dict) and e.get("entity_id")]
        extended = await s.call("config/entity_registry/get_entries", entity_ids=ids) if ids else {}
        extended = extended if isinstance(extended, dict) else {}
        entities = [{**e, **(extended.get(e["entity_id"]) or {})} for e in listed
                    if isinstance(e, dict) and e.get("entity_id")]
        states = {st["entity_id"]: st.get("attributes") or {} for st in await s.call("get_states")
                  if isinstance(st, dict) and st.get("entity_id")}
        exposure: dict[str, bool] = {}
        expose_new = True
        try:
            listed_exposure = (await s.call("homeassistant/expose_entity/list")).get("exposed_entities", {})
            exposure = {eid: bool(a[ASSISTANT]) for eid, a in listed_exposure.items() if ASSISTANT in (a or {})}
            expose_new = bool((await s.call("homeassistant/expose_new_entities/get", assistant=ASSISTANT))
                              .get("expose_new", True))
        except _CommandError as err:  # a non-admin token: the registry's own options still say what is exposed
            if err.code not in ("unauthorized", "unknown_command"):
                raise
        config = await s.call("get_config")
    for e in entities:  # the expose list is HA's final word (it includes settings HA computed and stored)
        if e["entity_id"] in exposure:
            e.setdefault("options", {})
            e["options"] = {**(e["options"] or {}), ASSISTANT: {"should_expose": exposure[e["entity_id"]]}}
    registered = set(ids)
    regs = Registries(areas=areas, floors=floors, devices=devices, entities=entities, exposure=exposure,
                      expose_new=expose_new, states=states, unregistered=sorted(set(states) - registered),
                      name=(config or {}).get("location_name"))
    return regs, version


def read_live(url: str, token: str) -> tuple[Registries, str]:
    """(the registries, HA's version) from a running instance."""
    if not token.strip():
        raise LiveImportError("an empty token: create a long-lived access token in your HA user profile")
    try:
        return asyncio.run(_read(url, token.strip()))
    except LiveImportError:
        raise
    except (OSError, asyncio.TimeoutError) as err:
        raise LiveImportError(f"cannot reach Home Assistant at {url} ({type(err).__name__}: {err}); check the "
                              "address and that HA is running") from None
    except Exception as err:
        if type(err).__module__.startswith("websockets"):
            raise LiveImportError(f"websocket error talking to {url}: {err}") from None
        raise
