"""The `backtest:` section (span, bar interval, costs, data source, workers, folders) and the seconds in a bar of each
interval it allows."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from backtest.config.base import ConfigError, Section


class BacktestConfig(Section):
    days: float = Field(default=180.0, ge=0.01, le=3650)
    interval: Literal["1m", "3m", "5m", "15m", "30m", "1h"] = "1m"
    initial_equity: float = Field(default=10_000.0, ge=10)  # the venue's minimum order value (backtest.venue.rules)
    slippage_pct: float = Field(default=0.05, ge=0, lt=10)
    commission_pct: float | None = Field(default=None, ge=0, lt=10)  # None: the venue's schedule (venue/fees.py)
    maker_commission_pct: float | None = Field(default=None, ge=-1, lt=10)
    latency_ms: tuple[float, float] = (5.0, 15.0)
    funding_rate_hourly: float = Field(default=0.0, ge=-0.01, le=0.01)
    chunk_size: int = Field(default=5000, ge=100)
    warmup_bars: int = Field(default=500, ge=0)
    segments_per_task: int = Field(default=8, ge=1, le=10_000)
    max_workers: int = Field(default=2, ge=1, le=1024)
    min_trades_threshold: int = Field(default=50, ge=0)
    data_source: Literal["real", "proxy", "synthetic", "hybrid"] = "synthetic"
    real_weight: float = Field(default=1.0, ge=0, le=1)
    seed: int = Field(default=1, ge=0)
    data_dir: str = Field(default="data", min_length=1)
    reports_dir: str = Field(default="reports", min_length=1)

    @model_validator(mode="after")
    def _latency_range(self) -> BacktestConfig:
        lo, hi = self.latency_ms
        if not (0 <= lo <= hi <= 60_000):
            raise ValueError(f"latency_ms must be [low, high] with 0 <= low <= high <= 60000 ms, got {[lo, hi]}")
        return self

    @property
    def bar_seconds(self) -> int:
        return interval_seconds(self.interval)


_INTERVALS = {"1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600}


def interval_seconds(interval: str) -> int:
    """Seconds in one bar of `interval` (e.g. "1m" -> 60)."""
    try:
        return _INTERVALS[interval]
    except KeyError:
        raise ConfigError(f"interval {interval!r} is not supported; allowed: {sorted(_INTERVALS)}") from None
