"""The canonical command language: `render(calls) -> str`, `parse(text) -> calls`, `validate(calls, home)`."""

from scenic.commands.language import (
    COLORS, INTENTS, UNSUPPORTED, UNSUPPORTED_REASONS, Call, IntentSpec, Symbol, unsupported,
)
from scenic.commands.parse import CommandParseError, parse
from scenic.commands.render import CALL_SEPARATOR, render, render_call, render_value
from scenic.commands.validate import Issue, is_valid, resolve_targets, validate

__all__ = [
    "COLORS", "INTENTS", "UNSUPPORTED", "UNSUPPORTED_REASONS", "Call", "IntentSpec", "Symbol", "unsupported",
    "CommandParseError", "parse", "CALL_SEPARATOR", "render", "render_call", "render_value",
    "Issue", "is_valid", "resolve_targets", "validate",
]
