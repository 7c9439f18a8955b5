"""Checks calls against a home: the target exists, the domain supports the action, values are in range."""

from __future__ import annotations

from dataclasses import dataclass

from scenic.commands.language import (
    COLORS, INTENTS, NUMBER_SLOTS, PERCENT_SLOTS, STRING_SLOTS, SYMBOL_SLOTS, UNSUPPORTED, UNSUPPORTED_REASONS, Call,
    Symbol,
)
from scenic.homes.schema import Entity, Home


@dataclass(frozen=True)
class Issue:
    """Why a call is invalid; `kind` is one of: intent, slots, target, action, value."""

    call_index: int
    kind: str
    message: str

    def __str__(self) -> str:
        return f"call {self.call_index + 1}: {self.message}"


def _supports(entity: Entity, intent: str, slots: dict) -> bool:
    a = entity.attributes
    if intent == "HassLightSet":
        return ("brightness" in slots and a.brightness) or ("color" in slots and a.color)
    if intent == "HassSetPosition":
        return a.position
    if intent == "HassSetVolume":
        return a.volume
    if intent == "HassFanSetSpeed":
        return a.speed
    return True


def resolve_targets(call: Call, home: Home) -> list[Entity]:
    """The entities a call's target slots select, before checking what they support."""
    s = call.slots
    spec = INTENTS[call.intent]
    out = []
    # narrow by the home's indexes first (same entities, same order): a scan of every entity per call made
    # validation slow on large homes
    pools = [home.entities]
    if "name" in s:
        pools.append(home.entities_by_label.get(s["name"], []) if isinstance(s["name"], str) else [])
    if "area" in s:
        area = home.area_by_name.get(s["area"]) if isinstance(s["area"], str) else None
        pools.append(home.entities_by_area[area.id] if area is not None else [])
    if "floor" in s:
        pools.append(home.entities_by_floor.get(s["floor"], []) if isinstance(s["floor"], str) else [])
    if "domain" in s:
        pools.append(home.entities_by_domain.get(s["domain"], []) if isinstance(s["domain"], str) else [])
    pool = min(pools, key=len)
    for e in pool:
        if spec.domains and e.domain not in spec.domains:
            continue
        if "name" in s and e.name != s["name"] and s["name"] not in e.aliases:
            continue
        if "area" in s and home.area_name(e.area) != s["area"]:
            continue
        if "floor" in s:
            floor = home.area_by_id[e.area].floor
            if floor is None or next((f.name for f in home.floors if f.id == floor), None) != s["floor"]:
                continue
        if "domain" in s and e.domain != s["domain"]:
            continue
        if "device_class" in s and e.device_class != s["device_class"]:
            continue
        out.append(e)
    return out


def _check_call(i: int, call: Call, home: Home) -> list[Issue]:
    spec = INTENTS.get(call.intent)
    if spec is None:
        return [Issue(i, "intent", f"unknown intent '{call.intent}'")]
    s = dict(call.slots)
    allowed = set(spec.targets) | set(spec.values)
    extra = sorted(set(s) - allowed)
    if extra:
        return [Issue(i, "slots", f"{call.intent} does not take slot(s) {', '.join(extra)}")]
    for k, v in s.items():
        if k in STRING_SLOTS and (not isinstance(v, str) or isinstance(v, Symbol)):
            return [Issue(i, "slots", f"slot '{k}' must be a quoted string")]
        if k in NUMBER_SLOTS and (isinstance(v, bool) or not isinstance(v, (int, float))):
            return [Issue(i, "slots", f"slot '{k}' must be a number")]
        if k in SYMBOL_SLOTS and not isinstance(v, Symbol):
            return [Issue(i, "slots", f"slot '{k}' must be a bare identifier")]
    values = [k for k in spec.values if k in s]
    if spec.values and len(values) != 1:
        return [Issue(i, "slots", f"{call.intent} needs exactly one of {', '.join(spec.values)}")]
    if call.intent == UNSUPPORTED:
        if s["reason"] not in UNSUPPORTED_REASONS:
            return [Issue(i, "value", f"unknown reason '{s['reason']}'")]
        return []
    if not any(k in s for k in ("name", "area", "floor")):
        return [Issue(i, "target", f"{call.intent} needs a name, area or floor")]
    if "area" in s and s["area"] not in home.area_by_name:
        return [Issue(i, "target", f"unknown area '{s['area']}'")]
    if "device_class" in s and "domain" not in s:
        return [Issue(i, "slots", "device_class needs domain")]
    targets = resolve_targets(call, home)
    if not targets:
        return [Issue(i, "target", "no entity matches " + ", ".join(f"{k}={s[k]!r}" for k in sorted(s) if k in spec.targets))]
    if "name" in s and len({e.id for e in targets}) > 1 and "area" not in s and "floor" not in s:
        return [Issue(i, "target", f"name '{s['name']}' is ambiguous: give an area")]
    capable = [e for e in targets if _supports(e, call.intent, s)]
    if not capable:
        return [Issue(i, "action", f"{call.intent} is not supported by {', '.join(e.id for e in targets)}")]
    for k in values:
        v = s[k]
        if k in PERCENT_SLOTS and not (0 <= v <= 100 and float(v).is_integer()):
            return [Issue(i, "value", f"{k}={v} must be a whole number 0-100")]
        if k == "temperature":
            for e in capable:
                lo, hi = e.attributes.min_temp, e.attributes.max_temp
                if not (lo <= v <= hi):
                    return [Issue(i, "value", f"temperature {v} outside {lo}-{hi} for {e.id}")]
        if k == "color" and v not in COLORS:
            return [Issue(i, "value", f"unknown color '{v}'")]
    return []


def validate(calls: list[Call], home: Home) -> list[Issue]:
    """All problems of a command (empty when it can be executed as it stands)."""
    if not calls:
        return [Issue(0, "slots", "empty command")]
    issues: list[Issue] = []
    for i, c in enumerate(calls):
        issues += _check_call(i, c, home)
    return issues


def is_valid(calls: list[Call], home: Home) -> bool:
    return not validate(calls, home)
