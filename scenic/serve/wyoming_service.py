"""The Wyoming intent service: Home Assistant's voice pipeline sends a transcript, SCENIC answers with intents.

What Home Assistant's wyoming integration (homeassistant/components/wyoming/conversation.py) does with the answer:
it sends `transcript` (text, language, context with conversation_id and, from a satellite, device_id/satellite_id),
then reads events until one of: `intent` (handled with `intent.async_handle(name, {slot: {"value": v}})`, so slot
names are HA's: name, area, floor, domain, device_class, brightness, ...), `intents-start` ... `intents-stop` (several
intents handled together), `not-recognized` (its text is spoken as the error), or `error`.

So a command of one call becomes one `intent` event; several calls become `intents-start`, one `intent` per call,
`intents-stop`; a command whose calls are all `Unsupported` becomes `not-recognized` with the reason as text (and as
`context.reason`). In a mixed command the executable calls are sent and the unsupported ones are logged.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from typing import Any

from wyoming.asr import Transcript
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Attribution, Describe, Info, IntentModel, IntentProgram
from wyoming.intent import Entity, Intent, IntentsStart, IntentsStop, NotRecognized, Recognize
from wyoming.ping import Ping, Pong
from wyoming.server import AsyncEventHandler

from scenic import ScenicError, __version__
from scenic.serve.engine import Answer, Engine

log = logging.getLogger("scenic.serve")

PROGRAM = "scenic"
ATTRIBUTION = Attribution(name="SCENIC", url="")  # no public home page yet
# Spoken by Home Assistant when nothing could be done (English; the reason code travels in context.reason).
REASON_TEXT = {
    "unknown_device": "Sorry, I don't know that device.",
    "unsupported_action": "Sorry, that device can't do that.",
    "out_of_range": "Sorry, that value is out of range.",
    "not_a_command": "Sorry, I didn't understand that.",
}
_request_ids = itertools.count(1)


def describe(engine: Engine) -> Info:
    """The `info` answer to `describe`: one installed intent program with the model and its languages."""
    model = IntentModel(name=engine.model_name, attribution=ATTRIBUTION, installed=True,
                        description=f"SCENIC command model for the home '{engine.home.name}'", version=__version__,
                        languages=list(engine.languages))
    return Info(intent=[IntentProgram(name=PROGRAM, attribution=ATTRIBUTION, installed=True,
                                      description="SCENIC: Home Assistant intents from a small local model",
                                      version=__version__, models=[model])])


def requester_area(context: Any, engine: Engine, satellites: dict[str, str]) -> str | None:
    """The requesting satellite's area name, from the event context: `area` (name, id or alias) when a client sends
    it, else `satellite_id` / `device_id` (what Home Assistant sends) looked up in the imported satellites map."""
    if not isinstance(context, dict):
        return None
    home = engine.home
    for key in ("area", "area_id", "area_name"):
        value = context.get(key)
        if isinstance(value, str) and value.strip():
            wanted = value.strip().casefold()
            for area in home.areas:
                if wanted in (area.name.casefold(), area.id, *(a.casefold() for a in area.aliases)):
                    return area.name
    for key in ("satellite_id", "device_id"):
        value = context.get(key)
        if isinstance(value, str) and value in satellites:
            return satellites[value]
    return None


def answer_events(answer: Answer) -> list[Event]:
    """The events that answer one transcript."""
    actions = answer.actions
    if not actions:
        reasons = [str(c["slots"].get("reason", "not_a_command")) for c in answer.unsupported] or ["not_a_command"]
        return [NotRecognized(text=REASON_TEXT.get(reasons[0], REASON_TEXT["not_a_command"]),
                              context={"reason": reasons[0], "command": answer.command}).event()]
    intents = [Intent(name=c["intent"], entities=[Entity(name=k, value=v) for k, v in c["slots"].items()]).event()
               for c in actions]
    if len(intents) == 1:
        return intents
    return [IntentsStart().event(), *intents, IntentsStop().event()]


class IntentHandler(AsyncEventHandler):
    """One client connection. Any number of requests; a bad one is answered with `error`, the connection stays."""

    def __init__(self, reader, writer, engine: Engine, satellites: dict[str, str]):
        super().__init__(reader, writer)
        self.engine = engine
        self.satellites = satellites

    async def handle_event(self, event: Event) -> bool:
        start = time.perf_counter()
        try:
            if Describe.is_type(event.type):
                await self.write_event(describe(self.engine).event())
            elif Ping.is_type(event.type):
                await self.write_event(Pong(text=(event.data or {}).get("text")).event())
            elif Transcript.is_type(event.type) or Recognize.is_type(event.type):
                await self._request(event, start)
            else:
                await self.write_event(Error(text=f"unsupported event type '{event.type}' (this is an intent "
                                                  "service: send transcript or describe)", code="unsupported").event())
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception as err:  # a bad event, or a failure while answering it: say so, keep serving
            code = "bad-request" if isinstance(err, (ScenicError, KeyError, TypeError, ValueError)) else "internal"
            log.warning("wyoming %s: %s: %s", event.type, code, err)
            await self.write_event(Error(text=f"{type(err).__name__}: {err}"[:300], code=code).event())
        return True

    async def _request(self, event: Event, start: float) -> None:
        data = event.data if isinstance(event.data, dict) else {}
        if "text" not in data:
            raise ScenicError(f"a {event.type} event needs a 'text'")
        area = requester_area(data.get("context"), self.engine, self.satellites)
        # The model runs on the event loop's own thread: requests are answered one at a time anyway, and handing each
        # to a worker thread and back costs two more thread wake-ups per request (measured: ~1-3 ms on a busy 2-core
        # machine, benchmarks/serve_load.py). Other connections' events wait for at most this one request.
        answer = self.engine.answer(data["text"], area)
        events = answer_events(answer)
        for out in events:
            await self.write_event(out)
        total_ms = (time.perf_counter() - start) * 1e3
        log.info("wyoming req=%d answer=%s command=%r valid=%s requester_area=%s%s model_ms=%.1f total_ms=%.1f",
                 next(_request_ids), "+".join(e.type for e in events), answer.command, answer.valid, area,
                 "" if answer.area_used or area is None else " (not used by the runtime yet: issue 14)",
                 answer.model_ms, total_ms)
        if answer.actions and answer.unsupported:
            log.info("wyoming: not sent (unsupported part of a mixed command): %s", answer.unsupported)
        log.debug("wyoming text=%r", answer.text)
