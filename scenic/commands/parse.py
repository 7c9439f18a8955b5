"""Parser for command strings. Any input either parses or raises CommandParseError, never anything else.

Written by hand: the grammar is five rules and a parser generator would be a heavier dependency than the grammar.
"""

from __future__ import annotations

import re

from scenic import ScenicError
from scenic.commands.language import Call, Symbol, Value, uncarriable


class CommandParseError(ScenicError, ValueError):
    """The text is not a command string; `position` is the character offset where parsing stopped."""

    def __init__(self, message: str, position: int = 0):
        super().__init__(f"{message} at character {position}")
        self.position = position


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<sep>;)
  | (?P<eq>=)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>-?\d+(?:\.\d+)?(?![A-Za-z_]))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
""", re.VERBOSE)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            ch = text[pos]
            what = "unterminated string" if ch == '"' else f"unexpected character {ch!r}"
            raise CommandParseError(what, pos)
        kind = m.lastgroup
        if kind == "string" and (bad := uncarriable(m.group())) is not None:
            raise CommandParseError(f"character U+{ord(m.group()[bad]):04X} inside a string (a command is one line; "
                                    "control characters are refused)", pos + bad)
        if kind != "ws":
            out.append((kind, m.group(), pos))
        pos = m.end()
    out.append(("end", "", pos))
    return out


def _value(kind: str, text: str) -> Value:
    if kind == "string":
        return re.sub(r"\\(.)", r"\1", text[1:-1], flags=re.DOTALL)
    if kind == "number":
        return float(text) if "." in text else int(text)
    return Symbol(text)


def parse(text: str) -> list[Call]:
    """Parse `Intent slot=value ... ; Intent ...` into calls."""
    if not isinstance(text, str):
        raise CommandParseError(f"expected a string, got {type(text).__name__}", 0)
    toks = _tokens(text)
    calls: list[Call] = []
    i = 0
    while True:
        kind, tok, pos = toks[i]
        if kind != "ident":
            raise CommandParseError("expected an intent name" if kind != "end" else "empty command", pos)
        intent, i = tok, i + 1
        slots: dict[str, Value] = {}
        while toks[i][0] == "ident":
            _, key, kpos = toks[i]
            if toks[i + 1][0] != "eq":
                raise CommandParseError(f"expected '=' after slot '{key}'", toks[i + 1][2])
            vkind, vtext, vpos = toks[i + 2]
            if vkind not in ("string", "number", "ident"):
                raise CommandParseError(f"expected a value for slot '{key}'", vpos)
            if key in slots:
                raise CommandParseError(f"slot '{key}' given twice", kpos)
            slots[key] = _value(vkind, vtext)
            i += 3
        calls.append(Call(intent, slots))
        kind, tok, pos = toks[i]
        if kind == "end":
            return calls
        if kind != "sep":
            raise CommandParseError(f"unexpected {tok!r}", pos)
        i += 1
