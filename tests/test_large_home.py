"""Large homes: look-ups stay indexed, and the constrained-decoding grammar narrows each slot by the slots before it
so decoding never walks into a call that can only fail."""

from __future__ import annotations

import pytest

from scenic.commands import Call, render, resolve_targets, validate
from scenic.homes import parse_home
from scenic.runtime.grammar import START, CommandGrammar

KINDS = [("light", "Ceiling Light", {"brightness": True}), ("switch", "Outlet", {}), ("lock", "Door Lock", {}),
         ("media_player", "Speaker", {"volume": True})]


@pytest.fixture(scope="module")
def big_home():
    areas, entities = [], []
    for a in range(60):
        areas.append({"name": f"Room {a}", "id": f"room_{a}"})
        for k, (domain, shared, attrs) in enumerate(KINDS):
            entities.append({"name": shared, "id": f"{domain}.r{a}_{k}", "area": f"room_{a}", "attributes": attrs})
            entities.append({"name": f"{shared} {a}", "id": f"{domain}.r{a}_{k}_u", "area": f"room_{a}",
                             "attributes": attrs})
    return parse_home({"name": "Big", "areas": areas, "entities": entities})


def _allowed(grammar, state, words):
    """Which of `words` may be written from `state` on (whole, as the grammar walks bytes)."""
    return {w for w in words if grammar.walk(state, w.encode()) is not None}


def test_indexes_agree_with_scans(big_home):
    assert big_home.entities_named("Door Lock") == [e for e in big_home.entities if e.name == "Door Lock"]
    assert big_home.is_unique_name("Door Lock 7") and not big_home.is_unique_name("Speaker")
    assert big_home.entities_in("Room 3", domain="light") == [
        e for e in big_home.entities if e.area == "room_3" and e.domain == "light"]
    call = Call("HassTurnOn", {"area": "Room 3", "name": "Door Lock"})
    assert [e.id for e in resolve_targets(call, big_home)] == ["lock.r3_2"]
    assert not validate([call], big_home)


def test_values_follow_the_slots_before_them(big_home):
    g = CommandGrammar(big_home)
    after_area = g.walk(START, b'HassTurnOn area="Room 3" name=')
    assert after_area is not None
    names = [f'"{n}"' for n in ("Door Lock", "Door Lock 3", "Door Lock 4", "Speaker 3", "Outlet 5")]
    assert _allowed(g, after_area, names) == {'"Door Lock"', '"Door Lock 3"', '"Speaker 3"'}
    # a shared name alone can never be valid (the area would have to come first): not offered without one
    bare = g.walk(START, b"HassTurnOn name=")
    assert _allowed(g, bare, ['"Door Lock"', '"Door Lock 3"']) == {'"Door Lock 3"'}
    # HassLightSet takes its brightness before the name (slots are alphabetical): no `name=` before it
    assert g.walk(START, b"HassLightSet name=") is None
    assert g.walk(START, b'HassLightSet brightness=40 name="Ceiling Light 2"') is not None


def test_every_reachable_state_has_a_way_on(big_home):
    """Greedy walks through random allowed bytes never reach a state with no way to go on or end."""
    import random

    g = CommandGrammar(big_home)
    rng = random.Random(0)
    for _ in range(300):
        state, text = START, b""
        for _ in range(120):
            options = [b for b in range(32, 127) if g.step(state, b) is not None]
            if g.can_end(state) and (not options or rng.random() < 0.3):
                break
            assert options, f"dead end after {text!r}"
            byte = rng.choice(options)
            text += bytes((byte,))
            state = g.step(state, byte)
        if g.can_end(state):
            calls = text.decode()
            assert g.accepts(calls) and render  # accepted strings validate (the grammar's contract)
