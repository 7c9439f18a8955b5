"""The command grammar as a byte-level automaton specialised to one home.

A state is an immutable tuple, so sets of allowed tokens can be cached per state and shared by every beam and
prompt that reaches it. The automaton accepts exactly the canonical renderings (`scenic.commands.render`) of calls
whose intent, slots (alphabetical, as render orders them) and values come from the home, and it lets a call end
(` ; ` or end of text) only when `scenic.commands.validate` accepts it. So every accepted string parses and
validates. Written by hand: a regex engine cannot answer "can this prefix still become valid?" token by token.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable

from scenic.commands import (
    COLORS, INTENTS, UNSUPPORTED, UNSUPPORTED_REASONS, CommandParseError, Symbol, parse, render_value, validate,
)
from scenic.commands.language import PERCENT_SLOTS
from scenic.homes import Home

# phases: I = intent name, S = after a space (slot name or ';' next), K = slot name, V = slot value,
# C = after ' ;' (a space and the next intent follow), E = ended (EOS seen)
State = tuple  # (phase, intent, slots, key, buf)
START: State = ("I", None, (), None, b"")
END: State = ("E", None, (), None, b"")


def _prefixes(words: Iterable[bytes]) -> frozenset[bytes]:
    return frozenset(w[:i] for w in words for i in range(len(w) + 1))


def _temperatures(home: Home) -> list[str]:
    """Every whole or one-decimal temperature inside some climate entity's range, rendered canonically."""
    ranges = [(e.attributes.min_temp, e.attributes.max_temp) for e in home.entities if e.domain == "climate"]
    out: set[str] = set()
    for lo, hi in ranges:
        tenth = int(round(lo * 10))
        while tenth <= int(round(hi * 10)):
            out.add(render_value(tenth / 10))
            tenth += 1
    return sorted(out)


class CommandGrammar:
    """Which bytes may follow a command prefix for one home."""

    def __init__(self, home: Home):
        self.home = home
        self.intents = {name.encode(): name for name in INTENTS}
        self._intent_prefixes = _prefixes(self.intents)
        self._values: dict[tuple[str, str], tuple[frozenset[bytes], frozenset[bytes]]] = {}
        for intent, spec in INTENTS.items():
            for key in (*spec.targets, *spec.values):
                words = {render_value(v).encode() for v in self._value_texts(intent, key)}
                self._values[(intent, key)] = (frozenset(words), _prefixes(words))

    # ---- value sets ---------------------------------------------------------------------------------------
    def _value_texts(self, intent: str, key: str) -> list:
        home, spec = self.home, INTENTS[intent]
        ents = [e for e in home.entities if not spec.domains or e.domain in spec.domains]
        if key == "name":
            return sorted({n for e in ents for n in (e.name, *e.aliases)})
        if key == "area":
            return [a.name for a in home.areas]
        if key == "floor":
            return [f.name for f in home.floors]
        if key == "domain":
            return sorted({e.domain for e in ents})
        if key == "device_class":
            return sorted({e.device_class for e in ents if e.device_class})
        if key == "color":
            return list(COLORS)
        if key in PERCENT_SLOTS:
            return list(range(101))
        if key == "temperature":
            return [float(t) if "." in t else int(t) for t in _temperatures(home)]
        if key == "reason":
            return [Symbol(r) for r in UNSUPPORTED_REASONS]
        raise ValueError(f"slot '{key}' has no value set in the grammar")

    @lru_cache(maxsize=4096)
    def _slot_names(self, intent: str, slots: tuple) -> frozenset[bytes]:
        """Slots still allowed: the intent's own, after the last one alphabetically, at most one value slot."""
        spec = INTENTS[intent]
        used = {k for k, _ in slots}
        last = slots[-1][0] if slots else ""
        value_used = any(k in spec.values for k in used)
        names = [k for k in (*spec.targets, *spec.values)
                 if k > last and k not in used and not (value_used and k in spec.values)]
        return frozenset(k.encode() for k in names)

    @lru_cache(maxsize=4096)
    def _slot_prefixes(self, intent: str, slots: tuple) -> frozenset[bytes]:
        return _prefixes(self._slot_names(intent, slots))

    @lru_cache(maxsize=65536)
    def call_ok(self, intent: str, slots: tuple) -> bool:
        """Would this call, ended here, parse and validate against the home?"""
        text = " ".join([intent] + [f"{k}={v.decode()}" for k, v in slots])
        try:
            return not validate(parse(text), self.home)
        except CommandParseError:
            return False

    # ---- transitions --------------------------------------------------------------------------------------
    def step(self, state: State, byte: int) -> State | None:
        phase, intent, slots, key, buf = state
        c = bytes((byte,))
        if phase == "I":
            if c == b" " and buf in self.intents:
                return ("S", self.intents[buf], (), None, b"")
            return ("I", None, (), None, buf + c) if buf + c in self._intent_prefixes else None
        if phase == "S":
            if c == b";":
                return ("C", None, (), None, b"") if self.call_ok(intent, slots) else None
            return ("K", intent, slots, None, c) if c in self._slot_prefixes(intent, slots) else None
        if phase == "K":
            if c == b"=" and buf in self._slot_names(intent, slots):
                return ("V", intent, slots, buf.decode(), b"")
            return ("K", intent, slots, None, buf + c) if buf + c in self._slot_prefixes(intent, slots) else None
        if phase == "V":
            words, prefixes = self._values[(intent, key)]
            if buf + c in prefixes:
                return ("V", intent, slots, key, buf + c)
            if c == b" " and buf in words:
                return ("S", intent, slots + ((key, buf),), None, b"")
            return None
        if phase == "C":
            return START if c == b" " else None
        return None

    def walk(self, state: State | None, data: bytes) -> State | None:
        for byte in data:
            if state is None:
                return None
            state = self.step(state, byte)
        return state

    def can_end(self, state: State) -> bool:
        """May the command end here (EOS)? Only after a complete value of a call that validates."""
        phase, intent, slots, key, buf = state
        if phase == "V":
            return buf in self._values[(intent, key)][0] and self.call_ok(intent, slots + ((key, buf),))
        if phase == "I":
            return buf in self.intents and self.call_ok(self.intents[buf], ())
        return False

    def accepts(self, text: str) -> bool:
        state = self.walk(START, text.encode("utf-8"))
        return state is not None and self.can_end(state)


FALLBACK = f"{UNSUPPORTED} reason=not_a_command"
