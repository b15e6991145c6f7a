"""The `live:` section of configs/params.yaml: the live trader's venue, risk limits, journal, feed and order handling
(`python -m live.serve`, docs/LIVE.md).

Registered under the entry-point group `aml100.config` (pyproject.toml). Every default lives here, once;
configs/params.yaml repeats them with comments (tests/test_config_files.py checks the two agree).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from backtest.config import Section
from backtest.venue.limits import CANDLE_HISTORY_LIMIT
from backtest.venue.rules import MIN_ORDER_VALUE


class LiveConfig(Section):
    """The live trader (`python -m live.serve`): venue, risk limits, journal, feed and order handling."""

    mode: Literal["paper", "testnet", "mainnet"] = "paper"
    testnet_url: str = Field(default="https://api.hyperliquid-testnet.xyz", pattern=r"^https?://")
    paper_speed: float = Field(default=1.0, ge=0.01, le=100_000)
    paper_fund_usd: float = Field(default=10_000.0, ge=MIN_ORDER_VALUE)
    journal_dir: str = Field(default="runs/live", min_length=1)
    history_bars: int = Field(default=1000, ge=2, le=CANDLE_HISTORY_LIMIT)
    emergency_stop_file: str = Field(default="/tmp/aml100_emergency_stop", min_length=1)
    daily_loss_limit_pct: float = Field(default=3.0, ge=0, le=100)
    max_order_notional: float = Field(default=100_000.0, ge=MIN_ORDER_VALUE)  # below it no order could be sent
    max_leverage: float = Field(default=5.0, ge=0.01, le=100)
    flatten_on_stop: bool = True
    ioc_slippage_pct: float = Field(default=1.0, ge=0.01, le=20)
    stale_feed_seconds: float = Field(default=30.0, ge=1, le=3600)
    breaker_failures: int = Field(default=3, ge=1, le=100)
    breaker_pause_seconds: float = Field(default=60.0, ge=0, le=86_400)
    reconcile_every_bars: int = Field(default=15, ge=1, le=100_000)
    order_timeout_s: float = Field(default=5.0, ge=0.1, le=120)
    size_multiplier: float = Field(default=1.0, ge=0.01, le=10)
    size_multiplier_max: float = Field(default=2.0, ge=0.01, le=10)
    cpus: float = Field(default=1.0, ge=0, le=64)

    @model_validator(mode="after")
    def _multiplier_within_cap(self) -> LiveConfig:
        if self.size_multiplier > self.size_multiplier_max:
            raise ValueError(
                f"size_multiplier ({self.size_multiplier}) must not exceed size_multiplier_max "
                f"({self.size_multiplier_max})"
            )
        return self
