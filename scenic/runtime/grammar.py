"""The command grammar as a byte-level automaton specialised to one home.

A state is an immutable tuple, so sets of allowed tokens can be cached per state and shared by every beam and
prompt that reaches it. The automaton accepts exactly the canonical renderings (`scenic.commands.render`) of calls
whose intent, slots (alphabetical, as render orders them) and values come from the home, and it lets a call end
(` ; ` or end of text) only when `scenic.commands.validate` accepts it. So every accepted string parses and
validates. Written by hand: a regex engine cannot answer "can this prefix still become valid?" token by token.

A slot's values are narrowed by the slots before it: after `area="Kitchen"` only names of the Kitchen's entities
(and that the call could still use) may follow, and a value is offered only if the call with it is valid already or
could still become valid with the slots that may come after it. So decoding never walks into a call that can only
fail (which cost a backtracking beam search per request), and on a 10,000-entity home the value sets it walks are
a room's names instead of thousands. The sets are built once per (intent, earlier slots, slot) and cached.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable

from scenic.commands import (
    COLORS, INTENTS, UNSUPPORTED, UNSUPPORTED_REASONS, Call, CommandParseError, Symbol, parse, render_value,
    resolve_targets, validate,
)
from scenic.commands.language import PERCENT_SLOTS
from scenic.homes import Home

# phases: I = intent name, S = after a space (slot name or ';' next), K = slot name, V = slot value,
# C = after ' ;' (a space and the next intent follow), E = ended (EOS seen)
State = tuple  # (phase, intent, slots, key, buf)
CANONICAL = {**{k: b"50" for k in PERCENT_SLOTS}, "color": b'"red"'}  # stand-ins, see _values
LOOKAHEAD = 2  # slots looked ahead to tell whether a call can still become valid
PRECOMPUTE_MIN = 256  # first-slot value sets larger than this are built with the grammar; smaller ones when reached
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


class WordTrie:
    """A byte trie of one value set: its nodes are the prefixes a value may have; `complete` marks whole values."""

    __slots__ = ("children", "complete", "text")

    def __init__(self, text: bytes):
        self.children: dict[int, WordTrie] = {}
        self.complete = False
        self.text = text


class CommandGrammar:
    """Which bytes may follow a command prefix for one home."""

    def __init__(self, home: Home):
        self.home = home
        self._words: dict[tuple[str, str], frozenset[bytes]] = {}
        self._value_of: dict[bytes, object] = {}  # a value as rendered -> the value (to build calls without parsing)
        for intent, spec in INTENTS.items():
            for key in (*spec.targets, *spec.values):
                words = {render_value(v).encode(): v for v in self._value_texts(intent, key)}
                self._value_of.update(words)
                self._words[(intent, key)] = frozenset(words)
        # area (as rendered in a command) -> the rendered names and aliases of its entities
        self._area_names = {render_value(a.name).encode(): frozenset(
            render_value(n).encode() for e in home.entities_by_area[a.id] for n in (e.name, *e.aliases))
            for a in home.areas}
        # intents that can start a valid call in this home (no `HassVacuumStart` in a home without a vacuum)
        self.intents = {name.encode(): name for name in INTENTS if self._feasible(name, ())}
        self._intent_prefixes = _prefixes(self.intents)
        for (intent, key), words in self._words.items():  # big first-slot sets (a large home's names) are built
            if len(words) > PRECOMPUTE_MIN and intent in self.intents.values():  # now, not inside some request
                self._values(intent, (), key)
        for intent in self.intents.values():  # and which slots each intent can start with
            self._live_slot_names(intent, ())

    def _candidates(self, intent: str, slots: tuple, key: str) -> frozenset[bytes]:
        words = self._words[(intent, key)]
        area = next((v for k, v in slots if k == "area"), None)
        if key == "name" and area is not None:  # only that room's entities can be named with it
            words = words & self._area_names.get(area, frozenset())
        return words

    # A percentage or a colour does not change which targets fit or what may follow (every value the grammar offers
    # is in range, and support is per slot, not per value): feasibility is worked out once, for a stand-in value.
    @staticmethod
    def _canonical(slots: tuple) -> tuple:
        return tuple((k, CANONICAL.get(k, v)) for k, v in slots)

    def _values(self, intent: str, slots: tuple, key: str) -> "WordTrie":
        """The byte trie of the values slot `key` may take after `slots`: those with which the call is valid or can
        still become valid."""
        return self._values_after(intent, self._canonical(slots), key)

    @lru_cache(maxsize=16384)
    def _values_after(self, intent: str, slots: tuple, key: str) -> "WordTrie":
        cands = self._candidates(intent, slots, key)
        if key in CANONICAL:
            return self._trie_of(cands if self._feasible(intent, slots + ((key, CANONICAL[key]),)) else frozenset())
        return self._trie_of(frozenset(w for w in cands if self._feasible(intent, slots + ((key, w),))))

    @lru_cache(maxsize=65536)
    def _has_value(self, intent: str, slots: tuple, key: str, depth: int = LOOKAHEAD) -> bool:
        """Does slot `key` have any value after `slots`? (stops at the first, unlike _values)"""
        cands = (CANONICAL[key],) if key in CANONICAL else self._candidates(intent, slots, key)
        return any(self._feasible(intent, slots + ((key, w),), depth) for w in cands)

    def value_node(self, state: State) -> "WordTrie | None":
        """For a state inside a value: the node of the value set's byte trie its text so far has reached."""
        _, intent, slots, key, buf = state
        node = self._values(intent, slots, key)
        for byte in buf:
            node = node.children.get(byte)
            if node is None:
                return None
        return node

    @lru_cache(maxsize=4096)
    def _trie_of(self, words: frozenset[bytes]) -> "WordTrie":
        root = WordTrie(b"")
        for w in words:
            node = root
            for i, byte in enumerate(w):
                child = node.children.get(byte)
                if child is None:
                    child = node.children[byte] = WordTrie(w[:i + 1])
                node = child
            node.complete = True
        return root

    def _feasible(self, intent: str, slots: tuple, depth: int = LOOKAHEAD) -> bool:
        return self._feasible_canonical(intent, self._canonical(slots), depth)

    @lru_cache(maxsize=65536)
    def _feasible_canonical(self, intent: str, slots: tuple, depth: int) -> bool:
        """The call is valid as it stands, or the targets named so far exist (more slots only narrow them, so an
        empty selection can never become valid) and some slot that may follow still has a value, looked ahead
        `depth` slots (each answer cached; deeper lookahead grows with the home's size, and calls rarely need more
        than two further slots to become valid)."""
        if self.call_ok(intent, slots):
            return True
        if depth <= 0 or not self._targets_exist(intent, slots):
            return False
        return any(self._has_value(intent, slots, k.decode(), depth - 1) for k in self._slot_names(intent, slots))

    def _call(self, intent: str, slots: tuple) -> Call:
        """The call a state's slots spell (values from the home's value sets: no parsing needed)."""
        return Call(intent, {k: self._value_of[v] if v in self._value_of else parse(f"X {k}={v.decode()}")[0].slots[k]
                             for k, v in slots})

    @lru_cache(maxsize=65536)
    def _targets_exist(self, intent: str, slots: tuple) -> bool:
        spec = INTENTS[intent]
        targets = tuple((k, v) for k, v in slots if k in spec.targets)
        if not targets:
            return True
        try:
            return bool(resolve_targets(self._call(intent, targets), self.home))
        except CommandParseError:
            return False

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

    @lru_cache(maxsize=16384)
    def _live_slot_names(self, intent: str, slots: tuple) -> frozenset[bytes]:
        """The slots that may come next and still have a value to take (so `name=` is never written where no name
        fits, e.g. `HassLightSet` before its brightness or colour)."""
        return frozenset(k for k in self._slot_names(intent, slots) if self._has_value(intent, slots, k.decode()))

    @lru_cache(maxsize=16384)
    def _slot_prefixes(self, intent: str, slots: tuple) -> frozenset[bytes]:
        return _prefixes(self._live_slot_names(intent, slots))

    @lru_cache(maxsize=65536)
    def call_ok(self, intent: str, slots: tuple) -> bool:
        """Would this call, ended here, validate against the home?"""
        try:
            return not validate([self._call(intent, slots)], self.home)
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
            if c == b"=" and buf in self._live_slot_names(intent, slots):
                return ("V", intent, slots, buf.decode(), b"")
            return ("K", intent, slots, None, buf + c) if buf + c in self._slot_prefixes(intent, slots) else None
        if phase == "V":
            node = self.value_node(state)
            if node is None:
                return None
            if byte in node.children:
                return ("V", intent, slots, key, buf + c)
            if c == b" " and node.complete and self._feasible(intent, slots + ((key, buf),)):
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
            node = self.value_node(state)
            return node is not None and node.complete and self.call_ok(intent, slots + ((key, buf),))
        if phase == "I":
            return buf in self.intents and self.call_ok(self.intents[buf], ())
        return False

    def accepts(self, text: str) -> bool:
        state = self.walk(START, text.encode("utf-8"))
        return state is not None and self.can_end(state)


FALLBACK = f"{UNSUPPORTED} reason=not_a_command"
