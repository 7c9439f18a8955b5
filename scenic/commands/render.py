"""Deterministic rendering: slots in alphabetical order, strings quoted, numbers bare, calls joined by ' ; '."""

from __future__ import annotations

from typing import Iterable

from scenic.commands.language import Call, Symbol, Value, uncarriable

CALL_SEPARATOR = " ; "


def render_value(value: Value) -> str:
    if isinstance(value, Symbol):
        return str(value)
    if isinstance(value, bool):
        raise TypeError("booleans are not command values")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(value, ".6g") if "e" not in format(value, ".6g") else repr(value)
    if isinstance(value, str):
        bad = uncarriable(value)
        if bad is not None:
            raise ValueError(f"cannot render {value!r:.60}: character U+{ord(value[bad]):04X} at {bad} has no place in "
                             "a one-line command (control characters and line separators are refused)")
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise TypeError(f"cannot render value {value!r}")


def render_call(call: Call) -> str:
    parts = [call.intent]
    parts += [f"{k}={render_value(call.slots[k])}" for k in sorted(call.slots)]
    return " ".join(parts)


def render(calls: Iterable[Call] | Call) -> str:
    if isinstance(calls, Call):
        calls = [calls]
    return CALL_SEPARATOR.join(render_call(c) for c in calls)
