"""`Params`: the params sections backtest reads itself and cluster's (the plug-ins of rl and live are added by
`backtest.config.compose`), with the reading of a key that moved."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from backtest.config.backtest import BacktestConfig
from backtest.config.base import Section
from backtest.config.execution import ExecutionConfig
from backtest.config.market import MarketConfig
from backtest.config.synth import SynthConfig
from backtest.config.trading import TradingConfig
from cluster.config import ClusterConfig


class Params(Section):
    """The sections backtest reads, and cluster's. What `load_params` returns is an instance of `params_model()`: this
    class extended with every section registered under `aml100.config` (`params.rl`, `params.live`, ...)."""

    market: MarketConfig = Field(default_factory=MarketConfig)
    trading: TradingConfig = Field(default_factory=TradingConfig)
    backtest: BacktestConfig = Field(default_factory=BacktestConfig)
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    synth: SynthConfig = Field(default_factory=SynthConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)

    @model_validator(mode="before")
    @classmethod
    def _take_profit_fill_moved(cls, data: Any) -> Any:
        """`backtest.take_profit_fill` (before the execution section) is read as `execution.take_profit`: "limit"
        means "maker". Old params files and checkpoint metadata keep loading; both keys at odds are refused."""
        if not isinstance(data, dict) or not isinstance(data.get("backtest"), dict):
            return data
        if "take_profit_fill" not in data["backtest"]:
            return data
        data = {**data, "backtest": dict(data["backtest"])}
        old = data["backtest"].pop("take_profit_fill")
        if old not in ("market", "limit"):
            raise ValueError(
                f"backtest.take_profit_fill = {old!r}: allowed 'market' or 'limit' (execution.take_profit)"
            )
        style = "maker" if old == "limit" else "market"
        execution = dict(data.get("execution") or {})
        if execution.setdefault("take_profit", style) != style:
            raise ValueError(
                f"backtest.take_profit_fill = {old!r} contradicts execution.take_profit = "
                f"{execution['take_profit']!r}; remove backtest.take_profit_fill (it moved to execution.take_profit)"
            )
        data["execution"] = execution
        return data
