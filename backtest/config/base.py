"""The two bases everything in the configuration builds on: the error every config failure raises and the base
class of every section (backtest's own and the plug-ins' of rl and live)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ConfigError(ValueError):
    """A configuration value is missing, unknown, of the wrong type or out of range."""


class Section(BaseModel):
    """Base of every config section: unknown keys refused, frozen, every field with its (validated) default."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
