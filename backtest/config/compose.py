"""Composition: the sections of the packages above backtest (rl, live), found through entry points, added to `Params`
and `Objectives` by `pydantic.create_model` (cached). The composed models live in the package `backtest.config`
(`LoadedParams`, `LoadedObjectives`, served by its `__getattr__`), so they pickle by reference."""

from __future__ import annotations

import functools
from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel, Field, create_model

from backtest.config.base import ConfigError, Section
from backtest.config.objectives import Objectives
from backtest.config.params import Params

PARAMS_GROUP = "aml100.config"  # entry points: section name -> the Section class of a package above backtest
OBJECTIVES_GROUP = "aml100.objectives"  # likewise for objectives.yaml (the autopilot's `status`)
_HOME = "backtest.config"  # the module of the composed models: its __getattr__ serves them to pickle


def _registered(group: str) -> dict[str, type[BaseModel]]:
    """{section name: its model class} registered under the entry-point group `group`, sorted by name."""
    found: dict[str, type[BaseModel]] = {}
    for ep in sorted(entry_points(group=group), key=lambda e: e.name):
        try:
            cls = ep.load()
        except Exception as exc:  # an ImportError, or any error while importing the package's config module
            raise ConfigError(
                f"config section {ep.name!r}: entry point {ep.name} = {ep.value!r} (group {group}) cannot be "
                f"loaded: {type(exc).__name__}: {exc}"
            ) from None
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            raise ConfigError(f"config section {ep.name!r}: entry point {ep.value!r} is not a pydantic model class")
        found[ep.name] = cls
    return found


def _compose(name: str, base: type[Section], group: str) -> type[Section]:
    sections = _registered(group)
    clash = sorted(set(sections) & set(base.model_fields))
    if clash:
        raise ConfigError(f"entry points of group {group} redefine built-in sections: {', '.join(clash)}")
    fields: dict[str, Any] = {k: (cls, Field(default_factory=cls)) for k, cls in sections.items()}
    model = create_model(name, __base__=base, __module__=_HOME, **fields)
    model.__doc__ = f"{base.__doc__}\n\nComposed with the sections of group {group}: {', '.join(sections) or 'none'}."
    return model


@functools.cache
def params_model() -> type[Params]:
    """`Params` plus every section registered under `aml100.config` (cached; pickles by reference as
    `backtest.config.LoadedParams`)."""
    return _compose("LoadedParams", Params, PARAMS_GROUP)


@functools.cache
def objectives_model() -> type[Objectives]:
    """`Objectives` plus every section registered under `aml100.objectives` (as `backtest.config.LoadedObjectives`)."""
    return _compose("LoadedObjectives", Objectives, OBJECTIVES_GROUP)
