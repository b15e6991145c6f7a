"""Typed, validated configuration: `configs/params.yaml` and `configs/objectives.yaml`.

Each package owns the sections it reads, next to the code that reads them, with every default once, in the schema:
this package holds the machinery (`Section`, `ConfigError`, loading, `--set` overrides, the error that names key, value
and allowed range) and the sections `backtest` reads itself (market, trading, backtest, execution, synth; the
objectives).
`cluster` sits below backtest, so its section is imported directly. The packages above (`rl`, `live`) register theirs
as plug-ins under the entry-point groups `aml100.config` (params) and `aml100.objectives` in pyproject.toml, found
the way strategies are; `load_params` validates against `Params` extended with every registered section
(`params_model()`), so backtest never imports them. Adding a key: a field with its default and bounds in the owning
section, and the same key with that value and a comment in the YAML (`tests/test_config_files.py` checks the two
agree). Adding a section: a `Section` subclass in the owning package and one entry-point line.

Command lines override keys with `--set section.key=value` (the value is parsed as YAML, so `0.3`, `true`, `[5, 15]`
work); an error caused by an override names the override (`--set live.max_leverage=1e-7: ...`), one from the file
names the file.

The modules, one job each (import the names below from this package; the modules are its layout):

- `base`: `ConfigError` and `Section`, the base of every section.
- `market`, `trading`, `backtest`, `execution`, `synth`: backtest's own sections, one module per YAML section;
  `backtest` also has `interval_seconds`.
- `params`: `Params` (those sections and cluster's); `objectives`: `Objectives`.
- `compose`: the plug-in sections of rl and live, found through entry points: `params_model()`,
  `objectives_model()` (the composed models are `backtest.config.LoadedParams` / `LoadedObjectives`, below).
- `yamlio`: YAML as users write numbers (`1e-7` is a float), for files and `--set` values.
- `schema`: what the schema says about a key (`field_bounds`; the closest known keys to an unknown one).
- `overrides`: `Override`, parsing, checking and applying `section.key=value`.
- `errors`: `validate_model` and the error that names who gave a value, the key, the value and the allowed range.
- `load`: `load_params`, `load_objectives`, `params_from_dict`, `objectives_from_dict`, `with_overrides`.
"""

from __future__ import annotations

from typing import Any

from backtest.config.backtest import BacktestConfig, interval_seconds
from backtest.config.base import ConfigError, Section
from backtest.config.compose import OBJECTIVES_GROUP, PARAMS_GROUP, objectives_model, params_model
from backtest.config.errors import validate_model
from backtest.config.execution import ExecutionConfig
from backtest.config.load import (
    DEFAULT_OBJECTIVES,
    DEFAULT_PARAMS,
    load_objectives,
    load_params,
    objectives_from_dict,
    params_from_dict,
    with_overrides,
)
from backtest.config.market import MarketConfig
from backtest.config.objectives import Objectives
from backtest.config.overrides import Override, apply_overrides
from backtest.config.params import Params
from backtest.config.schema import field_bounds
from backtest.config.synth import EdgeConfig, OffSessionConfig, SynthConfig
from backtest.config.trading import AtrStopConfig, KellyConfig, TradingConfig
from cluster.storage import REPO_ROOT

__all__ = [
    # paths and entry-point groups
    "DEFAULT_OBJECTIVES",
    "DEFAULT_PARAMS",
    "OBJECTIVES_GROUP",
    "PARAMS_GROUP",
    "REPO_ROOT",
    # the schemas (the bases, backtest's sections, the params and the objectives)
    "AtrStopConfig",
    "BacktestConfig",
    "ConfigError",
    "EdgeConfig",
    "ExecutionConfig",
    "KellyConfig",
    "MarketConfig",
    "Objectives",
    "OffSessionConfig",
    "Override",
    "Params",
    "Section",
    "SynthConfig",
    "TradingConfig",
    # loading, overrides, validation and the helpers the command lines use
    "apply_overrides",
    "field_bounds",
    "interval_seconds",
    "load_objectives",
    "load_params",
    "objectives_from_dict",
    "objectives_model",
    "params_from_dict",
    "params_model",
    "validate_model",
    "with_overrides",
]


def __getattr__(name: str) -> Any:
    """The composed models are attributes of this module, so pickle (and Ray) find them by name in any process."""
    if name == "LoadedParams":
        return params_model()
    if name == "LoadedObjectives":
        return objectives_model()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
