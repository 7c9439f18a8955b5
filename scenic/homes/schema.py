"""The home schema. Mirrors HA's floor/area/entity registries so a real HA export maps onto it by renaming little."""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from scenic import ScenicError
from scenic.config.base import StrictModel

DOMAINS = ("light", "switch", "fan", "cover", "lock", "climate", "media_player", "vacuum", "valve")
COVER_CLASSES = ("curtain", "blind", "shade", "garage", "awning", "shutter", "door", "window", "gate")


class HomeError(ScenicError):
    """A home file that does not describe a consistent home."""


def _clean_name(value: str) -> str:
    """Names are what commands quote and people say: outer whitespace stripped, never blank (a blank name can never
    be addressed), one line without control characters (a command is one line; docs/commands.md)."""
    from scenic.commands.language import uncarriable  # here: scenic.commands imports this module

    name = value.strip()
    if not name:
        raise ValueError(f"a name must not be blank (got {value!r})")
    bad = uncarriable(name)
    if bad is not None:
        raise ValueError(f"name {name!r:.60} contains U+{ord(name[bad]):04X} (line breaks and other control "
                         "characters cannot appear in a command)")
    return name


Name = Annotated[str, AfterValidator(_clean_name)]


class Floor(StrictModel):
    name: Name
    id: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$")


class Area(StrictModel):
    name: Name
    id: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$")
    floor: str | None = None
    aliases: list[Name] = Field(default_factory=list)


class EntityAttributes(StrictModel):
    """What an entity supports. Unset capabilities are off, so the validator can reject e.g. a colour on a dimmer."""

    device_class: str | None = None
    brightness: bool = False  # light: dimmable
    color: bool = False  # light: colour
    position: bool = False  # cover / valve: set position
    speed: bool = False  # fan: percentage
    volume: bool = False  # media_player: volume
    min_temp: float | None = None  # climate
    max_temp: float | None = None


class Entity(StrictModel):
    name: Name
    id: str = Field(min_length=3)
    area: str
    attributes: EntityAttributes = Field(default_factory=EntityAttributes)
    aliases: list[Name] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _id_shape(cls, v: str) -> str:
        if "." not in v or not v.split(".", 1)[1]:
            raise ValueError(f"entity id '{v}' must look like domain.object_id")
        return v

    @cached_property
    def domain(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def device_class(self) -> str | None:
        return self.attributes.device_class


class Home(StrictModel):
    name: Name = "Home"
    floors: list[Floor] = Field(default_factory=list)
    areas: list[Area]
    entities: list[Entity]

    @model_validator(mode="after")
    def _consistent(self) -> "Home":
        seen: set[str] = set()
        for f in self.floors:
            if f.id in seen:
                raise ValueError(f"duplicate floor id '{f.id}'")
            seen.add(f.id)
        floor_ids = {f.id for f in self.floors}
        area_ids: set[str] = set()
        area_names: set[str] = set()
        for a in self.areas:
            if a.id in area_ids:
                raise ValueError(f"duplicate area id '{a.id}'")
            if a.name.casefold() in area_names:
                raise ValueError(f"duplicate area name '{a.name}'")
            area_ids.add(a.id)
            area_names.add(a.name.casefold())
            if a.floor is not None and a.floor not in floor_ids:
                raise ValueError(f"area '{a.id}': unknown floor '{a.floor}'")
        ent_ids: set[str] = set()
        names_in_area: set[tuple[str, str]] = set()
        for e in self.entities:
            if e.id in ent_ids:
                raise ValueError(f"duplicate entity id '{e.id}'")
            ent_ids.add(e.id)
            if e.domain not in DOMAINS:
                raise ValueError(f"entity '{e.id}': unknown domain '{e.domain}' (known: {', '.join(DOMAINS)})")
            if e.area not in area_ids:
                raise ValueError(f"entity '{e.id}': unknown area '{e.area}'")
            key = (e.area, e.name.casefold())
            if key in names_in_area:
                raise ValueError(f"entity '{e.id}': a second entity named '{e.name}' in area '{e.area}'")
            names_in_area.add(key)
            if e.domain == "cover" and e.device_class not in COVER_CLASSES:
                raise ValueError(f"entity '{e.id}': cover needs attributes.device_class in {', '.join(COVER_CLASSES)}")
            if e.domain == "climate":
                lo, hi = e.attributes.min_temp, e.attributes.max_temp
                if lo is None or hi is None or lo >= hi:
                    raise ValueError(f"entity '{e.id}': climate needs attributes.min_temp < max_temp")
        return self

    # ---- look-ups used by the validator and the generator -------------------------------------------------
    @cached_property
    def area_by_id(self) -> dict[str, Area]:
        return {a.id: a for a in self.areas}

    @cached_property
    def area_by_name(self) -> dict[str, Area]:
        return {a.name: a for a in self.areas}

    def area_name(self, area_id: str) -> str:
        return self.area_by_id[area_id].name

    # name and area indexes: look-ups stay constant-time on a 10,000-entity home (a scan per look-up made
    # generating data for one take minutes)
    @cached_property
    def _by_name(self) -> dict[str, list[Entity]]:
        out: dict[str, list[Entity]] = {}
        for e in self.entities:
            out.setdefault(e.name, []).append(e)
        return out

    @cached_property
    def entities_by_area(self) -> dict[str, list[Entity]]:
        """Area id -> its entities, in home order."""
        out: dict[str, list[Entity]] = {a.id: [] for a in self.areas}
        for e in self.entities:
            out.setdefault(e.area, []).append(e)
        return out

    @cached_property
    def entities_by_label(self) -> dict[str, list[Entity]]:
        """Name or alias -> the entities it names, in home order (what a command's `name` slot selects)."""
        out: dict[str, list[Entity]] = {}
        for e in self.entities:
            for label in dict.fromkeys((e.name, *e.aliases)):
                out.setdefault(label, []).append(e)
        return out

    @cached_property
    def entities_by_floor(self) -> dict[str, list[Entity]]:
        """Floor name -> the entities in its areas, in home order."""
        names = {f.id: f.name for f in self.floors}
        out: dict[str, list[Entity]] = {}
        for e in self.entities:
            floor = names.get(self.area_by_id[e.area].floor)
            if floor is not None:
                out.setdefault(floor, []).append(e)
        return out

    @cached_property
    def entities_by_domain(self) -> dict[str, list[Entity]]:
        out: dict[str, list[Entity]] = {}
        for e in self.entities:
            out.setdefault(e.domain, []).append(e)
        return out

    def entities_named(self, name: str) -> list[Entity]:
        return list(self._by_name.get(name, ()))

    def entities_in(self, area_name: str, domain: str | None = None, device_class: str | None = None) -> list[Entity]:
        area = self.area_by_name.get(area_name)
        if area is None:
            return []
        return [e for e in self.entities_by_area[area.id] if (domain is None or e.domain == domain)
                and (device_class is None or e.device_class == device_class)]

    def is_unique_name(self, name: str) -> bool:
        return len(self._by_name.get(name, ())) == 1
