"""Typed, self-validating configs and recipe loading."""

from scenic.config.base import ConfigError, StrictModel, load_config, apply_overrides

__all__ = ["ConfigError", "StrictModel", "load_config", "apply_overrides"]
