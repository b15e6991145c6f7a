"""The search space: `configs/search_space.yaml`, validated, turned into a Ray Tune space and back into overrides.

Each dimension names a params.yaml key; a trial's config is a flat mapping {key: value}, turned into
`--set`-style overrides and validated by the params loader, so a trial can never run with an invalid config.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from backtest.config import REPO_ROOT, ConfigError, Params, validate_model, with_overrides

DEFAULT_SPACE = REPO_ROOT / "configs" / "search_space.yaml"
LEVELS = ("execution", "learning")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Dimension(_Strict):
    type: Literal["uniform", "loguniform", "int", "choice"]
    level: Literal["execution", "learning"]
    low: float | None = None
    high: float | None = None
    values: list[Any] | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Dimension:
        if self.type == "choice":
            if not self.values:
                raise ValueError("choice needs a non-empty `values` list")
            return self
        if self.low is None or self.high is None:
            raise ValueError(f"{self.type} needs `low` and `high`")
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.type == "loguniform" and self.low <= 0:
            raise ValueError(f"loguniform needs low > 0, got {self.low}")
        if self.type == "int" and (self.low != math.floor(self.low) or self.high != math.floor(self.high)):
            raise ValueError(f"int bounds must be whole numbers, got {self.low}..{self.high}")
        return self


class ScoreConfig(_Strict):
    folds: int = Field(ge=1, le=50)
    spread_penalty: float = Field(ge=0)
    no_trade_score: float


class AshaConfig(_Strict):
    grace_period: int = Field(ge=1)
    reduction_factor: float = Field(gt=1)


class LearningConfig(_Strict):
    algo: Literal["ppo", "dqn"]
    iterations: int = Field(ge=1)
    iter_steps: int = Field(ge=1)


class SearchSpace(_Strict):
    score: ScoreConfig
    asha: AshaConfig
    learning: LearningConfig
    params: dict[str, Dimension]

    def without(self, prefix: str) -> SearchSpace:
        """The same space without the dimensions whose key starts with `prefix` (e.g. "execution.")."""
        return self.model_copy(update={"params": {k: d for k, d in self.params.items() if not k.startswith(prefix)}})

    def dimensions(self, level: str) -> dict[str, Dimension]:
        """Dimensions of one level ("execution" | "learning"); "both" gives all."""
        if level == "both":
            return dict(self.params)
        return {k: d for k, d in self.params.items() if d.level == level}


def load_space(path: str | Path | None = None, params: Params | None = None) -> SearchSpace:
    """Load and validate the search space; every key must exist in params and its bounds must be valid values."""
    path = Path(path) if path else DEFAULT_SPACE
    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"search space file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    space = validate_model(SearchSpace, data, str(path))
    if not space.params:
        raise ConfigError(f"{path}: params: the search space has no dimensions")
    if params is not None:
        for key, dim in space.params.items():
            probes = dim.values if dim.type == "choice" else [dim.low, dim.high]
            for value in probes:
                value = int(value) if dim.type == "int" else value
                try:
                    with_overrides(params, [f"{key}={yaml.safe_dump(value, default_flow_style=True).strip()}"])
                except ConfigError as exc:
                    raise ConfigError(f"{path}: params.{key}: value {value!r} is not valid: {exc}") from None
    return space


def tune_space(dims: dict[str, Dimension]) -> dict[str, Any]:
    """Ray Tune sampling domains for `dims` (OptunaSearch converts them)."""
    from ray import tune

    out: dict[str, Any] = {}
    for key, d in dims.items():
        if d.type == "uniform":
            out[key] = tune.uniform(d.low, d.high)
        elif d.type == "loguniform":
            out[key] = tune.loguniform(d.low, d.high)
        elif d.type == "int":
            out[key] = tune.randint(int(d.low), int(d.high) + 1)
        else:
            out[key] = tune.choice(list(d.values))
    return out


def to_overrides(config: dict[str, Any], keys: list[str] | None = None) -> list[str]:
    """`section.key=value` overrides for the dimensions in a trial config (other config entries are ignored)."""
    out = []
    for key, value in config.items():
        if keys is not None and key not in keys:
            continue
        if hasattr(value, "item"):
            value = value.item()
        out.append(f"{key}={yaml.safe_dump(value, default_flow_style=True).strip().removesuffix('...').strip()}")
    return out


def apply_config(params: Params, config: dict[str, Any], keys: list[str]) -> Params:
    """A validated Params with the trial's values for `keys`."""
    return with_overrides(params, to_overrides(config, keys))
