"""Homes in the shape of Home Assistant's registry (floors, areas, entities) and the embedded default home."""

from scenic.homes.schema import DOMAINS, Area, Entity, EntityAttributes, Floor, Home, HomeError
from scenic.homes.load import DEFAULT_HOME_PATH, default_home, home_hash, load_home, parse_home

__all__ = [
    "DOMAINS", "Area", "Entity", "EntityAttributes", "Floor", "Home", "HomeError",
    "DEFAULT_HOME_PATH", "default_home", "home_hash", "load_home", "parse_home",
]
