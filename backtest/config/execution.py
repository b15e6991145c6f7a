"""The `execution:` section: how orders reach the venue (market or maker), read by the simulator."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from backtest.config.base import Section


class ExecutionConfig(Section):
    """How orders reach the venue (docs/ARCHITECTURE.md, "Execution styles"): market (taker IOC at the open) or maker
    (a post-only limit at the touch, `*_offset_ticks` inside (+) or behind (-) it, resting `*_ttl_bars` bars, then
    cancelled or sent as a market order). Read by the simulator, so it belongs to backtest."""

    entry: Literal["market", "maker"] = "market"
    entry_offset_ticks: int = Field(default=0, ge=-1000, le=1000)
    entry_ttl_bars: int = Field(default=1, ge=1, le=10_000)
    entry_on_expiry: Literal["cancel", "market"] = "cancel"
    exit: Literal["market", "maker"] = "market"  # signal and max-hold closes
    exit_offset_ticks: int = Field(default=0, ge=-1000, le=1000)
    exit_ttl_bars: int = Field(default=1, ge=1, le=10_000)
    exit_on_expiry: Literal["cancel", "market"] = "market"
    take_profit: Literal["market", "maker"] = "market"  # trigger -> taker, or a resting post-only limit at the level
    touch_fill_prob: float = Field(default=0.0, ge=0, le=1)  # chance a bar that only touches a limit fills it
    adverse_bars: int = Field(default=5, ge=1, le=10_000)  # metrics: mid move this many bars after a maker fill
    sz_decimals: int = Field(default=4, ge=0, le=6)  # the asset's szDecimals (venue meta): its price tick

    @property
    def any_maker(self) -> bool:
        return "maker" in (self.entry, self.exit, self.take_profit)
