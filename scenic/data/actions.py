"""What requests mean, independent of language: action families, implied levels and indirect rules.

An action family is one thing a person asks for ("turn on", "set brightness"); it fixes the intent, the domains it
acts on, the value slot and the capability it needs. A language pack supplies the wordings of each family.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

# Levels implied by wordings without a number. One wording always means one value, across the whole dataset:
# "dim the lights" is brightness 25, "turn the tv down" is volume 20, "put the fan on low" is 33 (HA's 3 speeds).
LEVELS = MappingProxyType({
    "dim": 25, "bright": 100, "quiet": 20, "loud": 80, "mute": 0, "half": 50, "full": 100,
    "low": 33, "medium": 66, "high": 100, "little": 25,
})

PERCENT_VALUE_SLOTS = ("brightness", "position", "volume_level", "percentage")
WINDOW_CLASSES = ("curtain", "blind", "shade", "shutter")  # covers that a room can have several of


@dataclass(frozen=True)
class Family:
    name: str
    intent: str
    domains: tuple[str, ...]
    kinds: tuple[str, ...] = ("entity",)
    value: str | None = None
    capability: str | None = None  # EntityAttributes flag the target needs (any member, as the validator checks)


_ONOFF = ("light", "switch", "fan", "media_player", "climate", "valve")
_MEDIA = ("media_player",)

FAMILIES = MappingProxyType({f.name: f for f in (
    Family("on", "HassTurnOn", _ONOFF, ("entity", "group", "floor")),
    Family("off", "HassTurnOff", _ONOFF, ("entity", "group", "floor")),
    Family("open", "HassTurnOn", ("cover", "valve"), ("entity", "group")),
    Family("close", "HassTurnOff", ("cover", "valve"), ("entity", "group")),
    Family("lock", "HassTurnOn", ("lock",)),
    Family("unlock", "HassTurnOff", ("lock",)),
    Family("brightness", "HassLightSet", ("light",), ("entity", "group", "floor"), "brightness", "brightness"),
    Family("color", "HassLightSet", ("light",), ("entity", "group", "floor"), "color", "color"),
    Family("temperature", "HassClimateSetTemperature", ("climate",), ("entity", "group", "area"), "temperature"),
    Family("position", "HassSetPosition", ("cover", "valve"), ("entity", "group"), "position", "position"),
    Family("volume", "HassSetVolume", _MEDIA, ("entity",), "volume_level", "volume"),
    Family("pause", "HassMediaPause", _MEDIA),
    Family("resume", "HassMediaUnpause", _MEDIA),
    Family("next", "HassMediaNext", _MEDIA),
    Family("previous", "HassMediaPrevious", _MEDIA),
    Family("vacuum_start", "HassVacuumStart", ("vacuum",), ("entity", "area")),
    Family("vacuum_return", "HassVacuumReturnToBase", ("vacuum",)),
    Family("fan_speed", "HassFanSetSpeed", ("fan",), ("entity", "group"), "percentage", "speed"),
)})

# How often each family is asked for in generated data (relative; families the home cannot do are skipped).
FAMILY_WEIGHTS = MappingProxyType({
    "on": 3.0, "off": 3.0, "open": 1.5, "close": 1.5, "lock": 1.0, "unlock": 1.0, "brightness": 2.5, "color": 1.2,
    "temperature": 2.0, "position": 1.2, "volume": 1.2, "pause": 0.5, "resume": 0.5, "next": 0.5, "previous": 0.5,
    "vacuum_start": 0.6, "vacuum_return": 0.5, "fan_speed": 1.0,
})

# Families whose request has no value: the ones a compound can share one verb across ("turn on A and B").
NO_VALUE_FAMILIES = tuple(n for n, f in FAMILIES.items() if f.value is None)
VALUE_FAMILIES = tuple(n for n, f in FAMILIES.items() if f.value is not None)


@dataclass(frozen=True)
class Rule:
    """An indirect request: a statement about the world that implies one command ("it's too dark in the study").

    `kind` is the target it mentions (`area` or `entity`) or `none` for keyword rules that name no target.
    """

    name: str
    kind: str


RULES = MappingProxyType({r.name: r for r in (
    Rule("dark", "area"),  # lights on in the area
    Rule("bright", "area"),  # dim the area's lights to LEVELS["dim"]
    Rule("cold", "area"),  # climate on
    Rule("hot", "area"),  # fan on, or climate off where there is no fan
    Rule("stuffy", "area"),  # fan on
    Rule("glare", "area"),  # close the window covers
    Rule("daylight", "area"),  # open the window covers
    Rule("loud", "entity"),  # volume to LEVELS["quiet"]
    Rule("cant_hear", "entity"),  # volume to LEVELS["loud"]
    Rule("dirty", "area"),  # start the vacuum in the area
)})
