"""The autopilot's sections: `autopilot:` of configs/params.yaml (the loop, `python -m live.autopilot`) and `status:`
of configs/objectives.yaml (how a policy's recent window is graded); docs/AUTOPILOT.md.

Registered under the entry-point groups `aml100.config` and `aml100.objectives` (pyproject.toml). Every default
lives here, once; the YAML files repeat them with comments (tests/test_config_files.py checks they agree).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from backtest.config import Section


class AutopilotConfig(Section):
    """The autonomous loop (`python -m live.autopilot`); docs/AUTOPILOT.md."""

    cycle_hours: float = Field(default=1.0, ge=0.01, le=24 * 30)
    data: Literal["config", "real", "proxy", "synthetic", "hybrid"] = "config"
    data_days: float = Field(default=30.0, ge=0.01, le=3650)
    judge_days: float = Field(default=3.0, ge=0.01, le=3650)
    improve_on: list[Literal["CRITICAL", "POOR", "MODERATE", "GOOD"]] = Field(
        default_factory=lambda: ["CRITICAL", "POOR"]
    )
    execution_trials: int = Field(default=8, ge=1, le=10_000)
    learning: Literal["off", "retrain", "sweep"] = "retrain"
    learning_trials: int = Field(default=4, ge=1, le=10_000)
    retrain_algo: Literal["ppo", "dqn"] = "ppo"
    retrain_timesteps: int = Field(default=4000, ge=1)
    budget_minutes: float = Field(default=20.0, ge=0.1, le=24 * 60)
    max_concurrent_trials: int = Field(default=1, ge=1, le=1024)
    promote_margin_sharpe: float = 0.1
    size_down: float = Field(default=0.75, ge=0.01, lt=1)
    size_up: float = Field(default=1.10, gt=1, le=10)
    dir: str = Field(default="runs/autopilot", min_length=1)

    @field_validator("learning", mode="before")
    @classmethod
    def _yaml_off(cls, v: Any) -> Any:
        return "off" if v is False else v  # YAML reads a bare `off` as false


class StatusThresholds(Section):
    """How the autopilot grades a policy's recent window (docs/AUTOPILOT.md): CRITICAL, POOR, MODERATE, GOOD."""

    critical_drawdown_pct: float = Field(default=5.0, ge=0, le=100)  # CRITICAL at or past this drawdown (or a halt)
    poor_sharpe_below: float = 0.0  # POOR below this Sharpe ...
    poor_profit_factor_below: float = Field(default=1.0, ge=0)  # ... or below this profit factor
