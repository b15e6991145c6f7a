"""Market universe, asset ids, tick and lot rules, and the number formats the real API uses."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from live.paper_exchange.config import MarketSpec

BUILDER_DEX_BASE = 110_000
BUILDER_DEX_STRIDE = 10_000
MAX_SIG_FIGS = 5
PERP_MAX_DECIMALS = 6


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
        return PERP_MAX_DECIMALS - self.sz_decimals

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
            asset = idx if k == 0 else BUILDER_DEX_BASE + (k - 1) * BUILDER_DEX_STRIDE + idx
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


def round_px(px: float, market: Market) -> float:
    """Round a price to 5 significant figures and the market's price decimals (integers always allowed)."""
    if px <= 0:
        return 0.0
    r = float(f"{px:.{MAX_SIG_FIGS}g}")
    return round(r, market.px_decimals)


def fmt_px(px: float, market: Market) -> str:
    return fmt_num(round_px(px, market), market.px_decimals)


def parse_decimal(text: Any) -> Decimal | None:
    """Parse a wire number (string or int); None when it is not a finite decimal."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        return None
    try:
        d = Decimal(str(text))
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def price_valid(px: Decimal, market: Market) -> bool:
    """Tick rule: integers always; else at most 5 significant figures and `6 - szDecimals` decimals."""
    if px <= 0:
        return False
    if px == px.to_integral_value():
        return True
    t = px.normalize().as_tuple()
    decimals = -t.exponent if isinstance(t.exponent, int) and t.exponent < 0 else 0
    sig = len(t.digits)
    return decimals <= market.px_decimals and sig <= MAX_SIG_FIGS


def size_valid(sz: Decimal, market: Market) -> bool:
    """Lot rule: positive, at most `szDecimals` decimals."""
    if sz <= 0:
        return False
    t = sz.normalize().as_tuple()
    decimals = -t.exponent if isinstance(t.exponent, int) and t.exponent < 0 else 0
    return decimals <= market.sz_decimals
