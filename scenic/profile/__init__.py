"""Per-component profiling (encoder, cached decoder step, end to end) of checkpoints and exports, side by side."""

from scenic.profile.api import ProfileConfig, artifact_size, profile, write_profile

__all__ = ["ProfileConfig", "artifact_size", "profile", "write_profile"]
