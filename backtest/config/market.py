"""The `market:` section: which market, on which venue and how its API is reached."""

from __future__ import annotations

from pydantic import Field

from backtest.config.base import Section


class MarketConfig(Section):
    coin: str = Field(default="xyz:XYZ100", min_length=1)
    dex: str = "xyz"
    base_url: str = Field(default="https://api.hyperliquid.xyz", pattern=r"^https?://")
    request_timeout_s: float = Field(default=10.0, ge=0.1, le=300)
