"""Market universe and asset ids, and the number formats the real API uses.

The tick and lot rules, the asset-id layout and the rounding are the venue's, from `backtest.venue.rules`: the
engine validates and rounds with those functions, nothing here restates them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from backtest.venue.rules import asset_id, price_decimals, round_price
from live.paper_exchange.config import MarketSpec


@dataclass(frozen=True)
class Market:
    """A listed perp with its asset id (main dex: index; builder dex: 110000 + k*10000 + index)."""

    name: str
    dex: str
    asset: int
    sz_decimals: int
    max_leverage: int
    scale: float

    @property
    def px_decimals(self) -> int:
        return price_decimals(self.sz_decimals)

    @property
    def is_builder(self) -> bool:
        return self.dex != ""


class Universe:
    """All markets by name and by asset id, grouped per dex in listing order."""

    def __init__(self, specs: tuple[MarketSpec, ...], first_open: float) -> None:
        dexes: list[str] = [""]
        for s in specs:
            if s.dex not in dexes:
                dexes.append(s.dex)
        self.dexes = dexes
        self.by_name: dict[str, Market] = {}
        self.by_asset: dict[int, Market] = {}
        self.per_dex: dict[str, list[Market]] = {d: [] for d in dexes}
        for s in specs:
            k = dexes.index(s.dex)
            idx = len(self.per_dex[s.dex])
            asset = asset_id(k, idx)
            scale = (s.ref_price / first_open) if s.ref_price else 1.0
            m = Market(s.name, s.dex, asset, s.sz_decimals, s.max_leverage, scale)
            self.by_name[m.name] = m
            self.by_asset[asset] = m
            self.per_dex[s.dex].append(m)

    def markets(self) -> list[Market]:
        return list(self.by_name.values())


def fmt_num(x: float, decimals: int = 6) -> str:
    """A plain decimal string without exponent or trailing zeros ("1.5", "97000")."""
    s = f"{x:.{decimals}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    if s in ("-0", ""):
        s = "0"
    return s


def fmt_px(px: float, market: Market) -> str:
    """A price on the market's tick (the venue's rounding), as the wire writes it."""
    return fmt_num(round_price(px, market.sz_decimals), market.px_decimals) if px > 0 else "0"


def parse_decimal(text: Any) -> Decimal | None:
    """Parse a wire number (string or int); None when it is not a finite decimal."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        return None
    try:
        d = Decimal(str(text))
    except InvalidOperation:
        return None
    return d if d.is_finite() else None
