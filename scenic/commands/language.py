"""The canonical command language: intents, their slots, and the value types. docs/commands.md is the spec."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping, Union


class Symbol(str):
    """A bare identifier value (e.g. `reason=unknown_device`), kept apart from quoted strings so rendering round-trips."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Symbol({str.__repr__(self)})"


Value = Union[str, int, float, Symbol]

TARGET_SLOTS = ("name", "area", "floor", "domain", "device_class")
STRING_SLOTS = frozenset(TARGET_SLOTS + ("color",))
NUMBER_SLOTS = frozenset({"brightness", "temperature", "position", "volume_level", "percentage"})
SYMBOL_SLOTS = frozenset({"reason"})
PERCENT_SLOTS = frozenset({"brightness", "position", "volume_level", "percentage"})

UNSUPPORTED = "Unsupported"
UNSUPPORTED_REASONS = ("unknown_device", "unsupported_action", "out_of_range", "not_a_command")

COLORS = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "white")

# A command is one line of text. Inside a quoted string `"` and `\` are escaped (\" and \\); what a single line
# cannot carry is refused, not escaped: control characters (C0, DEL, C1: newlines, tabs, NUL ...) and the Unicode
# line / paragraph separators. Homes refuse such names at load (scenic.homes.schema), so no command needs them.
_UNCARRIABLE = frozenset("\u2028\u2029")


def uncarriable(text: str) -> int | None:
    """The index of the first character a command string cannot carry (see above), or None."""
    for i, ch in enumerate(text):
        if ch < " " or "\x7f" <= ch <= "\x9f" or ch in _UNCARRIABLE:
            return i
    return None


@dataclass(frozen=True)
class IntentSpec:
    """Which slots an intent takes: targets it accepts, and the value slots of which exactly one is required."""

    name: str
    targets: tuple[str, ...]
    values: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()  # domains it acts on


_TURN_TARGETS = ("name", "area", "floor", "domain", "device_class")
_SIMPLE_TARGETS = ("name", "area", "floor")

INTENTS: Mapping[str, IntentSpec] = MappingProxyType({s.name: s for s in (
    IntentSpec("HassTurnOn", _TURN_TARGETS, (), ("light", "switch", "fan", "cover", "lock", "valve", "media_player", "climate")),
    IntentSpec("HassTurnOff", _TURN_TARGETS, (), ("light", "switch", "fan", "cover", "lock", "valve", "media_player", "climate")),
    IntentSpec("HassLightSet", _SIMPLE_TARGETS, ("brightness", "color"), ("light",)),
    IntentSpec("HassClimateSetTemperature", _SIMPLE_TARGETS, ("temperature",), ("climate",)),
    IntentSpec("HassSetPosition", _TURN_TARGETS, ("position",), ("cover", "valve")),
    IntentSpec("HassMediaPause", ("name", "area"), (), ("media_player",)),
    IntentSpec("HassMediaUnpause", ("name", "area"), (), ("media_player",)),
    IntentSpec("HassMediaNext", ("name", "area"), (), ("media_player",)),
    IntentSpec("HassMediaPrevious", ("name", "area"), (), ("media_player",)),
    IntentSpec("HassSetVolume", ("name", "area"), ("volume_level",), ("media_player",)),
    IntentSpec("HassVacuumStart", ("name", "area"), (), ("vacuum",)),
    IntentSpec("HassVacuumReturnToBase", ("name", "area"), (), ("vacuum",)),
    IntentSpec("HassFanSetSpeed", ("name", "area"), ("percentage",), ("fan",)),
    IntentSpec(UNSUPPORTED, (), ("reason",), ()),
)})


@dataclass(frozen=True)
class Call:
    """One action: an intent and its slots. Slot order does not matter for equality; rendering fixes it."""

    intent: str
    slots: Mapping[str, Value] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "slots", MappingProxyType(dict(self.slots)))

    def __hash__(self) -> int:
        return hash((self.intent, frozenset((k, (type(v) is Symbol, v)) for k, v in self.slots.items())))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Call):
            return NotImplemented
        return self.intent == other.intent and dict(self.slots) == dict(other.slots)

    def to_json(self) -> dict:
        return {"intent": self.intent, "slots": dict(self.slots)}


def unsupported(reason: str) -> Call:
    if reason not in UNSUPPORTED_REASONS:
        raise ValueError(f"unknown Unsupported reason '{reason}'")
    return Call(UNSUPPORTED, {"reason": Symbol(reason)})
