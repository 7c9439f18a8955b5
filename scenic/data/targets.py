"""Targets of a home and how each is named and addressed.

A target is what a request points at: one entity, all devices of a kind in an area (a group), a bare area, or all
lights of a floor. Each target knows its canonical slots per action family (HA conventions, docs/commands.md) and
its mentions in a language. Mentions are deduplicated across the home so that one noun phrase always names one
target: when two targets would share a phrase, the more specific one (entity > group > floor > area) keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scenic.commands import Call, Symbol
from scenic.data.actions import FAMILIES, LEVELS, RULES, WINDOW_CLASSES, Family
from scenic.data.lang import LanguagePack, Mention
from scenic.homes import Entity, Home

_KIND_PRIORITY = {"entity": 0, "group": 1, "floor": 2, "area": 3}
_TAKES_DOMAIN = frozenset({"HassTurnOn", "HassTurnOff", "HassSetPosition"})


@dataclass
class Target:
    key: str
    kind: str
    members: tuple[Entity, ...]
    area: str | None = None  # area name
    floor: str | None = None  # floor name
    domain: str | None = None
    device_class: str | None = None
    entity: Entity | None = None
    unique: bool = True
    mentions: list[Mention] = field(default_factory=list)

    def members_for(self, family: Family) -> list[Entity]:
        return [e for e in self.members if e.domain in family.domains]

    def slots(self, family: Family) -> dict:
        """The canonical target slots for this family's intent."""
        if self.kind == "entity":
            assert self.entity is not None
            out = {"name": self.entity.name}
            if not self.unique:
                out["area"] = self.area
            return out
        base = {"floor": self.floor} if self.kind == "floor" else {"area": self.area}
        if self.kind in ("group", "floor") and family.intent in _TAKES_DOMAIN:
            base["domain"] = self.domain
            if self.device_class:
                base["device_class"] = self.device_class
        return base


def _capable(entity: Entity, capability: str | None) -> bool:
    return capability is None or bool(getattr(entity.attributes, capability))


def applies(target: Target, family: Family) -> bool:
    """Whether the family's command on this target is valid (same logic as scenic.commands.validate)."""
    if target.kind not in family.kinds:
        return False
    if target.kind in ("group", "floor") and target.domain not in family.domains:
        return False
    members = target.members_for(family)
    return bool(members) and any(_capable(e, family.capability) for e in members)


def temperature_range(target: Target, family: Family) -> tuple[float, float]:
    """The values every climate member accepts (the validator checks each capable member)."""
    members = [e for e in target.members_for(family) if e.attributes.min_temp is not None]
    return max(e.attributes.min_temp for e in members), min(e.attributes.max_temp for e in members)


class HomeTargets:
    """All targets of a home with their mentions in one language."""

    def __init__(self, home: Home, pack: LanguagePack):
        self.home = home
        self.pack = pack
        self.targets: list[Target] = []
        floors = {f.id: f.name for f in home.floors}
        area_names = {a.id: [a.name.lower(), *(x.lower() for x in a.aliases)] for a in home.areas}
        for e in home.entities:
            unique = home.is_unique_name(e.name)
            t = Target(f"entity:{e.id}", "entity", (e,), area=home.area_name(e.area), domain=e.domain,
                       entity=e, unique=unique)
            t.mentions = pack.entity_mentions([e.name.lower(), *(x.lower() for x in e.aliases)], area_names[e.area], unique)
            self.targets.append(t)
        for a in home.areas:
            ents = home.entities_by_area[a.id]
            t = Target(f"area:{a.id}", "area", tuple(ents), area=a.name)
            t.mentions = pack.area_mentions(area_names[a.id])
            self.targets.append(t)
            for domain, dclass in self._groups(ents):
                members = tuple(e for e in ents if e.domain == domain and (dclass is None or e.device_class == dclass))
                t = Target(f"group:{a.id}:{domain}:{dclass or ''}", "group", members, area=a.name, domain=domain,
                           device_class=dclass)
                t.mentions = pack.group_mentions(domain, dclass, area_names[a.id])
                self.targets.append(t)
        for fid, fname in floors.items():
            lights = tuple(e for e in home.entities if e.domain == "light" and home.area_by_id[e.area].floor == fid)
            if lights:
                t = Target(f"floor:{fid}:light", "floor", lights, floor=fname, domain="light")
                t.mentions = pack.floor_mentions("light", fname.lower())
                self.targets.append(t)
        self._dedupe_mentions()
        self.targets = [t for t in self.targets if t.mentions]
        self.by_key = {t.key: t for t in self.targets}

    @staticmethod
    def _groups(ents: list[Entity]) -> list[tuple[str, str | None]]:
        out: list[tuple[str, str | None]] = []
        for domain in ("light", "fan", "climate"):
            if any(e.domain == domain for e in ents):
                out.append((domain, None))
        for dclass in WINDOW_CLASSES:
            if any(e.domain == "cover" and e.device_class == dclass for e in ents):
                out.append(("cover", dclass))
        return out

    def _dedupe_mentions(self) -> None:
        """One phrase names one target: the most specific target keeps a shared phrase, the others drop it."""
        owner: dict[str, Target] = {}
        for t in sorted(self.targets, key=lambda t: (_KIND_PRIORITY[t.kind], t.key)):
            for m in t.mentions:
                k = self.pack.normalize(m.text)
                owner.setdefault(k, t)
        for t in self.targets:
            t.mentions = [m for m in t.mentions if owner[self.pack.normalize(m.text)] is t]

    def all_phrases(self) -> set[str]:
        """Normalized mention phrases and bare names of the home, to keep invented devices clear of real ones."""
        out = {self.pack.normalize(m.text) for t in self.targets for m in t.mentions}
        for e in self.home.entities:
            out |= {self.pack.normalize(n) for n in [e.name, *e.aliases]}
        for a in self.home.areas:
            out |= {self.pack.normalize(n) for n in [a.name, *a.aliases]}
        out |= {self.pack.normalize(f.name) for f in self.home.floors}
        return out

    def for_family(self, family: Family) -> list[Target]:
        return [t for t in self.targets if applies(t, family)]

    # ---- indirect rules -----------------------------------------------------------------------------------------
    def rule_call(self, rule: str, target: Target) -> Call | None:
        """The one command an indirect statement about this target implies (None: the rule does not apply)."""
        r = RULES[rule]
        if r.kind != target.kind:
            return None
        ents = target.members
        doms = {e.domain for e in ents}
        area = target.area
        if rule == "dark" and "light" in doms:
            return Call("HassTurnOn", {"area": area, "domain": "light"})
        if rule == "bright" and any(e.domain == "light" and e.attributes.brightness for e in ents):
            return Call("HassLightSet", {"area": area, "brightness": LEVELS["dim"]})
        if rule == "cold" and "climate" in doms:
            return Call("HassTurnOn", {"area": area, "domain": "climate"})
        if rule in ("hot", "stuffy") and "fan" in doms:
            return Call("HassTurnOn", {"area": area, "domain": "fan"})
        if rule == "hot" and "climate" in doms:
            return Call("HassTurnOff", {"area": area, "domain": "climate"})
        if rule in ("glare", "daylight"):
            classes = sorted({e.device_class for e in ents if e.domain == "cover" and e.device_class in WINDOW_CLASSES})
            if len(classes) == 1:
                return Call("HassTurnOff" if rule == "glare" else "HassTurnOn",
                            {"area": area, "domain": "cover", "device_class": classes[0]})
        if rule in ("loud", "cant_hear") and target.entity is not None and target.entity.domain == "media_player" \
                and target.entity.attributes.volume:
            level = LEVELS["quiet"] if rule == "loud" else LEVELS["loud"]
            return Call("HassSetVolume", {**target.slots(FAMILIES["volume"]), "volume_level": level})
        if rule == "dirty" and "vacuum" in doms:
            return Call("HassVacuumStart", {"area": area})
        return None

    def keyword_entity(self, keyword: str) -> Target | None:
        """The one entity whose name contains the keyword and that can be turned on (None if none or several)."""
        on = FAMILIES["on"]
        hits = [t for t in self.targets if t.kind == "entity" and keyword in t.entity.name.lower()
                and t.entity.domain in on.domains]
        return hits[0] if len(hits) == 1 else None


def unsupported_call(reason: str) -> Call:
    return Call("Unsupported", {"reason": Symbol(reason)})
