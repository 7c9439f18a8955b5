import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenic.commands import (
    COLORS, INTENTS, UNSUPPORTED_REASONS, Call, CommandParseError, Symbol, is_valid, parse, render, unsupported, validate,
)

# ---- rendering is deterministic and canonical ------------------------------------------------------------------

def test_render_examples_from_spec():
    assert render(Call("HassLightSet", {"brightness": 40, "area": "Kitchen"})) == 'HassLightSet area="Kitchen" brightness=40'
    c = Call("HassSetPosition", {"position": 50, "domain": "cover", "device_class": "curtain", "area": "Living Room"})
    assert render(c) == 'HassSetPosition area="Living Room" device_class="curtain" domain="cover" position=50'
    assert render(unsupported("out_of_range")) == "Unsupported reason=out_of_range"
    two = [Call("HassTurnOn", {"name": "Front Door"}), Call("HassClimateSetTemperature", {"area": "Bedroom", "temperature": 21.0})]
    assert render(two) == 'HassTurnOn name="Front Door" ; HassClimateSetTemperature area="Bedroom" temperature=21'
    assert render(Call("HassClimateSetTemperature", {"area": "Study", "temperature": 20.5})).endswith("temperature=20.5")


def test_slot_order_does_not_change_string_or_equality():
    a = Call("HassTurnOn", {"area": "Kitchen", "domain": "light"})
    b = Call("HassTurnOn", {"domain": "light", "area": "Kitchen"})
    assert a == b and hash(a) == hash(b) and render(a) == render(b)


def test_quotes_and_backslashes_escape():
    c = Call("HassTurnOn", {"name": 'Bob\'s "Lamp" \\ 2'})
    assert parse(render(c)) == [c]


def test_symbol_and_string_differ():
    assert Call("Unsupported", {"reason": Symbol("x")}) != Call("Unsupported", {"reason": "x"}) or \
        render(Call("Unsupported", {"reason": Symbol("x")})) != render(Call("Unsupported", {"reason": "x"}))
    assert parse('Unsupported reason=not_a_command')[0].slots["reason"] == Symbol("not_a_command")
    assert isinstance(parse('Unsupported reason=not_a_command')[0].slots["reason"], Symbol)


# ---- parser errors ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, pos", [
    ("", 0), ("   ", 3), ("HassTurnOn name", 15), ('HassTurnOn name="x', 16), ("HassTurnOn ; ", 13),
    ("HassTurnOn name=", 16), ('HassTurnOn name="a" name="b"', 20), ("; HassTurnOn", 0), ("HassTurnOn 42", 11),
    ("HassTurnOn name=\"x\" ?", 20), ("HassTurnOn = 3", 11), ("HassLightSet brightness=40%", 26),
])
def test_parse_errors_have_positions(text, pos):
    with pytest.raises(CommandParseError) as err:
        parse(text)
    assert err.value.position == pos
    assert f"at character {pos}" in str(err.value)


def test_parse_rejects_non_strings():
    with pytest.raises(CommandParseError):
        parse(None)  # type: ignore[arg-type]


# ---- property tests --------------------------------------------------------------------------------------------

# any text a command can carry: no surrogates, no control characters or line separators (those are refused)
names = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=0, max_size=20)
numbers = st.one_of(st.integers(-1000, 1000), st.floats(-1000, 1000, allow_nan=False).map(lambda x: round(x, 3)))
slot_value = st.one_of(names, numbers, st.sampled_from(UNSUPPORTED_REASONS).map(Symbol))
slot_name = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True)
calls = st.builds(Call, st.sampled_from(sorted(INTENTS)), st.dictionaries(slot_name, slot_value, max_size=5))


@settings(max_examples=400, deadline=None)
@given(st.lists(calls, min_size=1, max_size=4))
def test_render_parse_round_trip(cs):
    text = render(cs)
    back = parse(text)
    assert back == cs
    assert render(back) == text


@settings(max_examples=1500, deadline=None)
@given(st.text(max_size=80))
def test_parser_never_raises_anything_else(text):
    try:
        out = parse(text)
    except CommandParseError:
        return
    assert out and all(isinstance(c, Call) for c in out)


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(['HassTurnOn', 'name', '=', '"Kitchen"', '40', ';', ' ', '"', '\\', '-', '3.5', 'x=y']),
                max_size=12))
def test_parser_on_token_soup(parts):
    text = "".join(parts)
    try:
        parse(text)
    except CommandParseError as err:
        assert 0 <= err.position <= len(text)


# ---- validator ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    'HassTurnOn area="Kitchen" domain="light"',
    'HassTurnOff area="Bedroom" name="Ceiling Fan"',
    'HassTurnOn name="Front Door"',
    'HassLightSet area="Kitchen" brightness=40',
    'HassLightSet color="blue" name="Desk Lamp"',
    'HassClimateSetTemperature area="Bedroom" temperature=21',
    'HassSetPosition area="Living Room" device_class="curtain" domain="cover" position=50',
    'HassSetPosition name="Sprinkler" position=30',
    'HassMediaPause name="TV"', 'HassSetVolume area="Kitchen" volume_level=30',
    'HassVacuumStart area="Study" name="Robot Vacuum"', 'HassFanSetSpeed name="Desk Fan" percentage=75',
    'HassTurnOn area="Living Room" name="TV"', 'Unsupported reason=not_a_command',
    'HassTurnOn name="Front Door" ; HassLightSet area="Study" brightness=100',
])
def test_valid_commands(home, text):
    assert validate(parse(text), home) == []


@pytest.mark.parametrize("text, kind", [
    ('HassTurnOn name="Jacuzzi"', "target"),
    ('HassTurnOn area="Attic" domain="light"', "target"),
    ('HassTurnOff name="Ceiling Fan"', "target"),  # ambiguous: two ceiling fans
    ('HassLightSet color="red" name="Floor Lamp"', "action"),  # dimmable only
    ('HassLightSet brightness=40 name="Garage Light"', "action"),
    ('HassSetPosition name="Garage Door" position=50', "action"),
    ('HassFanSetSpeed name="Extractor Fan" percentage=50', "action"),
    ('HassVacuumStart name="Kettle"', "target"),
    ('HassClimateSetTemperature area="Bedroom" temperature=35', "value"),
    ('HassLightSet area="Kitchen" brightness=140', "value"),
    ('HassLightSet area="Kitchen" brightness=40.5', "value"),
    ('HassLightSet color="mauve" name="Desk Lamp"', "value"),
    ('HassTeleport name="TV"', "intent"),
    ('HassTurnOn name="TV" volume_level=3', "slots"),
    ('HassLightSet area="Kitchen"', "slots"),
    ('HassLightSet area="Kitchen" brightness="40"', "slots"),
    ('HassTurnOn domain="light"', "target"),
    ('Unsupported reason=bored', "value"),
    ('Unsupported reason="not_a_command"', "slots"),
])
def test_invalid_commands(home, text, kind):
    issues = validate(parse(text), home)
    assert issues and issues[0].kind == kind, issues


def test_compound_reports_the_bad_call(home):
    issues = validate(parse('HassTurnOn name="Front Door" ; HassTurnOn name="Jacuzzi"'), home)
    assert [i.call_index for i in issues] == [1]
    assert not is_valid([], home)


def test_every_color_is_settable(home):
    for c in COLORS:
        assert is_valid([Call("HassLightSet", {"color": c, "name": "Desk Lamp"})], home)


@pytest.mark.parametrize("text", ["a\nb", "tab\there", "nul\x00", "del\x7f", "nel\x85", "ls\u2028x", "ps\u2029x"])
def test_the_language_refuses_what_one_line_cannot_carry(text):
    with pytest.raises(ValueError, match="one-line command"):
        render(Call("HassTurnOn", {"name": text}))
    raw = 'HassTurnOn name="' + text + '"'
    with pytest.raises(CommandParseError, match="inside a string") as err:
        parse(raw)
    assert err.value.position == len('HassTurnOn name="') + next(i for i, c in enumerate(text) if not c.isprintable())


def test_the_language_escapes_quotes_and_backslashes():
    call = Call("HassTurnOn", {"name": 'Say "hi" \\ bye'})
    text = render(call)
    assert text == 'HassTurnOn name="Say \\"hi\\" \\\\ bye"' and parse(text) == [call]
