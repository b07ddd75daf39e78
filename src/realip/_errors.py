"""Exception and warning types of realip."""

from __future__ import annotations


class ConfigError(ValueError):
    """A realip configuration value is wrong; raised at start-up, naming the bad value."""


class RealIPWarning(UserWarning):
    """A configuration that works but is probably not what you meant (e.g. trusting everything)."""
