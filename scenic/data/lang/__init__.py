"""Language packs: the words of the generator. The generator core decides WHAT to say; a pack decides HOW.

A pack holds phrasing templates (cores per action family, frames that wrap them, compound connectors), the
vocabulary to name things (mentions of entities, areas, groups and floors, value phrases, number words), the
invalid-request vocabulary (unknown devices, chit-chat) and the noise tables. Adding a language means adding one
module that subclasses `LanguagePack` and registering it in `_PACKS`.
"""

from __future__ import annotations

import importlib
import random
from dataclasses import dataclass
from typing import Mapping

from scenic import ScenicError

# Target kinds a core can take: a named entity, all devices of a kind in an area, a bare area, or a floor group.
TARGET_KINDS = ("entity", "group", "area", "floor")
MOODS = ("imperative", "statement", "question", "chatter")  # chatter: chit-chat that is not a question


@dataclass(frozen=True)
class Core:
    """One wording of one action: `{t}` is the target mention, `{v}` the value, `{is}` agrees with the target.

    `kinds` limits the target kinds (None = the family's default), `domains` the entity domains (None = any the
    family acts on), `fixed` names a level from `scenic.data.targets.LEVELS` the wording implies ("dim the lights").
    """

    id: str
    text: str
    kinds: tuple[str, ...] | None = None
    domains: tuple[str, ...] | None = None
    fixed: str | None = None
    mood: str = "imperative"
    verbal: bool = True  # starts with a bare verb, so it can follow "could you ..." frames


@dataclass(frozen=True)
class Frame:
    """What wraps a core: politeness, filler, colloquial openers. `{c}` is the core."""

    id: str
    text: str
    style: str  # plain | polite | colloquial | filler
    moods: tuple[str, ...]
    question: bool = False
    verb: bool = False  # the frame needs a bare verb phrase after it ("could you {c}")


@dataclass(frozen=True)
class Connector:
    """How 2-3 clauses join into one compound request; `shared` joins targets under one verb instead."""

    id: str
    first: str  # before the first clause
    mid: str  # between clauses except the last pair
    last: str  # before the last clause
    shared: bool = False


@dataclass(frozen=True)
class Mention:
    """A noun phrase naming a target, and whether it is grammatically plural."""

    text: str
    plural: bool = False


@dataclass(frozen=True)
class Unknown:
    """Something that is not in the home, and the action families a person might ask of it."""

    text: str
    kind: str
    families: tuple[str, ...]
    plural: bool = False


class LanguagePack:
    """Base class of a language pack. Subclasses fill the tables and implement the phrasing methods."""

    code: str = ""
    name: str = ""
    cores: Mapping[str, tuple[Core, ...]] = {}  # action family -> imperative cores
    indirect: Mapping[str, tuple[Core, ...]] = {}  # indirect rule -> statements
    implicit: Mapping[str, tuple[Core, ...]] = {}  # entity-name keyword -> statements that imply turning it on
    chat: tuple[Core, ...] = ()  # not a command at all; may contain {x}-style fillers from chat_fillers
    chat_fillers: Mapping[str, tuple[str, ...]] = {}
    frames: tuple[Frame, ...] = ()
    connectors: tuple[Connector, ...] = ()
    unknown_devices: tuple[Unknown, ...] = ()
    unknown_areas: tuple[str, ...] = ()
    homophones: Mapping[str, tuple[str, ...]] = {}  # ASR-like substitutions, word -> replacements
    droppable: tuple[str, ...] = ()  # words ASR drops (articles)
    protected: frozenset[str] = frozenset()  # words noise never touches (numbers, value words)

    # ---- naming things ----------------------------------------------------------------------------------------
    def entity_mentions(self, names: list[str], areas: list[str], unique: bool) -> list[Mention]:
        raise NotImplementedError

    def group_mentions(self, domain: str, device_class: str | None, areas: list[str]) -> list[Mention]:
        raise NotImplementedError

    def floor_mentions(self, domain: str, floor: str) -> list[Mention]:
        raise NotImplementedError

    def area_mentions(self, areas: list[str]) -> list[Mention]:
        raise NotImplementedError

    def unknown_group_mentions(self, area: str) -> list[Unknown]:
        raise NotImplementedError

    def join_mentions(self, mentions: list[Mention]) -> Mention:
        raise NotImplementedError

    # ---- values -----------------------------------------------------------------------------------------------
    def number_phrases(self, slot: str, value: float) -> list[str]:
        """Ways to say a number for a value slot (digits, words, units)."""
        raise NotImplementedError

    def word_values(self, slot: str) -> Mapping[int, tuple[str, ...]]:
        """Words that stand for numbers in this slot ("half" -> 50)."""
        raise NotImplementedError

    def color_phrases(self, color: str) -> list[str]:
        raise NotImplementedError

    # ---- text -------------------------------------------------------------------------------------------------
    def fits(self, core: Core, frame: Frame) -> bool:
        """Whether the frame reads well around the core (frames that need a verb take only verbal cores)."""
        return core.mood in frame.moods and (core.verbal or not frame.verb)

    def fill(self, text: str, mention: Mention | None, value: str | None) -> str:
        raise NotImplementedError

    def decorate(self, text: str, rng: random.Random, question: bool) -> str:
        """Light casing/punctuation variation of a finished prompt."""
        raise NotImplementedError

    def normalize(self, text: str) -> str:
        """The key under which two prompts count as the same (for dedupe and the overlap report)."""
        raise NotImplementedError

    def words(self, text: str) -> list[str]:
        """The literal words of a template text (placeholders removed), for the held-out vocabulary check."""
        raise NotImplementedError


_PACKS = {"en": "scenic.data.lang.en:EnglishPack"}
_LOADED: dict[str, LanguagePack] = {}


def known_languages() -> list[str]:
    return sorted(_PACKS)


def get_language_pack(code: str) -> LanguagePack:
    """The pack for a language code; an unknown code is a user error that lists the known ones."""
    if code not in _PACKS:
        raise ScenicError(f"unknown language '{code}' (known: {', '.join(known_languages())})")
    if code not in _LOADED:
        module, cls = _PACKS[code].split(":")
        _LOADED[code] = getattr(importlib.import_module(module), cls)()
    return _LOADED[code]


__all__ = [
    "Connector", "Core", "Frame", "LanguagePack", "MOODS", "Mention", "TARGET_KINDS", "Unknown",
    "get_language_pack", "known_languages",
]
