"""The `trading:` section: exit levels, sizing, leverage, holding, the rules' settings, Kelly sizing, the ATR stop."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from backtest.config.base import Section


class KellyConfig(Section):
    enabled: bool = False
    fraction: float = Field(default=0.5, ge=0.01, le=1)
    cap: float = Field(default=0.4, ge=0.001, le=1)
    min_trades: int = Field(default=20, ge=1)


class AtrStopConfig(Section):
    enabled: bool = False
    multiple: float = Field(default=2.0, gt=0, le=100)
    period: int = Field(default=14, ge=1, le=1000)


class TradingConfig(Section):
    take_profit_pct: float = Field(default=0.5, ge=0.001, le=1000)
    stop_loss_pct: float = Field(default=0.25, ge=0.001, lt=100)
    position_size_pct: float = Field(default=0.4, ge=0.001, le=1)
    leverage: float = Field(default=1.0, ge=0.01, le=100)
    max_positions: int = Field(default=1, ge=1, le=16)
    max_hold_seconds: int = Field(default=60, ge=0)
    both_touched: Literal["stop", "take_profit"] = "stop"
    signal_threshold: float = Field(default=0.0002, ge=0)
    min_q_diff: float = Field(default=0.0, ge=0)
    rsi_period: int = Field(default=14, ge=2, le=1000)
    rsi_buy_below: float = Field(default=38.0, ge=0, le=100)
    rsi_sell_above: float = Field(default=62.0, ge=0, le=100)
    macd_fast: int = Field(default=12, ge=1)
    macd_slow: int = Field(default=26, ge=2)
    macd_signal: int = Field(default=9, ge=1)
    macd_confirm: bool = True
    trade_closed_sessions: bool = True  # false: no new entries while the market's outside market is closed
    kelly: KellyConfig = Field(default_factory=KellyConfig)
    atr_stop: AtrStopConfig = Field(default_factory=AtrStopConfig)

    @model_validator(mode="after")
    def _levels_ordered(self) -> TradingConfig:
        if self.rsi_buy_below >= self.rsi_sell_above:
            raise ValueError(
                f"rsi_buy_below ({self.rsi_buy_below}) must be below rsi_sell_above ({self.rsi_sell_above})"
            )
        if self.macd_fast >= self.macd_slow:
            raise ValueError(f"macd_fast ({self.macd_fast}) must be below macd_slow ({self.macd_slow})")
        return self
