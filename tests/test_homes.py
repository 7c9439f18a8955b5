import copy
import re

import pytest
import yaml

from scenic.homes import DEFAULT_HOME_PATH, DOMAINS, HomeError, default_home, home_hash, load_home, parse_home


def _raw():
    return yaml.safe_load(DEFAULT_HOME_PATH.read_text())


def test_default_home_shape(home):
    floors = {a.floor for a in home.areas}
    assert 2 <= len(floors) <= 3 and 8 <= len(home.areas) <= 12
    assert len(home.entities) >= 40
    assert {e.domain for e in home.entities} == set(DOMAINS)
    classes = {e.device_class for e in home.entities if e.domain == "cover"}
    assert {"curtain", "blind", "shade", "garage"} <= classes
    shared = [n for n in {e.name for e in home.entities} if len(home.entities_named(n)) > 1]
    assert len(shared) >= 3  # several names shared across rooms


def test_load_from_file_equals_default(tmp_path):
    p = tmp_path / "h.yaml"
    p.write_text(DEFAULT_HOME_PATH.read_text())
    assert home_hash(load_home(p)) == home_hash(default_home())
    assert load_home(None) is default_home()


@pytest.mark.parametrize("mutate, needle", [
    (lambda d: d["entities"].append(dict(d["entities"][0])), "duplicate entity id 'light.living_room_ceiling'"),
    (lambda d: d["areas"].append(dict(d["areas"][0], name="Other")), "duplicate area id 'living_room'"),
    (lambda d: d["entities"][0].update(area="attic"), "entity 'light.living_room_ceiling': unknown area 'attic'"),
    (lambda d: d["entities"][0].update(id="toaster.kitchen"), "entity 'toaster.kitchen': unknown domain 'toaster'"),
    (lambda d: d["areas"][0].update(floor="roof"), "area 'living_room': unknown floor 'roof'"),
    (lambda d: d["entities"][0].update(id="nodot"), "entities[0] (nodot)"),
    (lambda d: d["entities"][0].update(colour=True), "unknown key 'entities.0.colour'"),
    (lambda d: d.update(rooms=[]), "unknown key 'rooms'"),
])
def test_bad_homes_name_the_entry(tmp_path, mutate, needle):
    data = copy.deepcopy(_raw())
    mutate(data)
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(data))
    with pytest.raises(HomeError) as err:
        load_home(p)
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


def test_not_a_mapping_and_missing_file(tmp_path):
    with pytest.raises(HomeError, match="must be a mapping"):
        parse_home([1, 2])
    with pytest.raises(HomeError, match="no such file"):
        load_home(tmp_path / "missing.yaml")
    bad = tmp_path / "broken.yaml"
    bad.write_text("areas: [\n")
    with pytest.raises(HomeError, match="not valid YAML"):
        load_home(bad)


@pytest.mark.parametrize("where", ["entity", "area", "floor", "alias", "home"])
def test_names_are_stripped_non_blank_and_single_line(where):
    def put(d, value):
        if where == "entity":
            d["entities"][0]["name"] = value
        elif where == "area":
            d["areas"][0]["name"] = value
        elif where == "floor":
            d["floors"][0]["name"] = value
        elif where == "alias":
            d["entities"][0]["aliases"] = [value]
        else:
            d["name"] = value

    d = _raw()
    put(d, "  Reading Nook Lamp \t")
    home = parse_home(d)
    got = {"entity": home.entities[0].name, "area": home.areas[0].name, "floor": home.floors[0].name,
           "alias": (home.entities[0].aliases or [None])[0], "home": home.name}[where]
    assert got == "Reading Nook Lamp"
    for bad, needle in (("   ", "must not be blank"), ("Desk\nLamp", "U+000A"), ("Desk\u2028Lamp", "U+2028"),
                        ("Lamp\x00", "U+0000")):
        d = _raw()
        put(d, bad)
        with pytest.raises(HomeError, match=re.escape(needle)) as err:
            parse_home(d)
        assert "\n" not in str(err.value)
