"""HyperLiquid's trading rules, one table: tick, lot, minimum value, leverage, margin mode, trigger slippage.

Every caller reads these (the live trader's orders, `live/execution.py`, the paper exchange's matching and its
validation); nothing restates them. Facts (HyperLiquid docs "Tick and lot size", "Order types"; reference §4):

- Prices: at most 5 significant figures and at most `MAX_DECIMALS - szDecimals` decimals (perps: MAX_DECIMALS 6);
  integer prices are always valid, whatever their number of digits. So 123456.7 is on the tick as 123457 (an
  integer), and the nearest valid price is what `round_price` returns. A price below the smallest tick
  (10 ** -decimals) rounds to that tick: zero is never a price.
- Sizes: at most `szDecimals` decimals (the lot); `round_size` rounds down, so an order never exceeds what sizing
  allowed.
- An order must be worth at least $10 (reduce-only orders are exempt).
- A market trigger (TP/SL `isMarket`) becomes an order that may fill up to 10 % from its trigger price.
- Limit and trigger prices far from the oracle are refused (`Order price too far from oracle`); the real band is not
  documented, the paper exchange's 80 % is its own choice.
- Asset ids: main dex = index in `meta`; builder (HIP-3) dex k (k >= 1 in `perpDexs`) = 100000 + k * 10000 + index.

`MARKETS` is the offline table of the markets this project trades or simulates; on a venue that answers, read an
asset's rules from `meta` (`rules_from_meta`) instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

import numpy as np

PRICE_SIG_FIGS = 5
PERP_MAX_DECIMALS = 6  # MAX_DECIMALS for perps (spot: 8)
MIN_ORDER_VALUE = 10.0  # USD; reduce-only orders are exempt
TRIGGER_SLIPPAGE = 0.10  # a fired market trigger fills at most this fraction from its trigger price
ORACLE_BAND = 0.8  # limit and trigger prices must lie within this fraction of the mark (paper exchange's choice)
BUILDER_DEX_ASSET_BASE = 100_000  # asset id of builder dex k (>= 1): BUILDER_DEX_ASSET_BASE + k * stride + index
BUILDER_DEX_ASSET_STRIDE = 10_000
MARGIN_MODES = ("cross", "isolated", "strictIsolated", "noCross")


def price_decimals(sz_decimals: int) -> int:
    """Decimals allowed on a perp price: `6 - szDecimals` (never below 0)."""
    return max(0, PERP_MAX_DECIMALS - int(sz_decimals))


def min_price(sz_decimals: int) -> float:
    """The smallest valid price: one tick at the most decimals allowed."""
    return 10.0 ** -price_decimals(sz_decimals)


def round_price(px: float, sz_decimals: int, up: bool | None = None) -> float:
    """The valid price nearest `px` (5 significant figures, `6 - szDecimals` decimals; integers always valid).

    `up` True/False rounds to the nearest valid price at or above / at or below `px` (buy limits up, sell limits
    down); None to the nearest (ties to even). Prices below the smallest tick become that tick.
    """
    if not math.isfinite(px) or px <= 0:
        raise ValueError(f"price must be a positive finite number, got {px!r}")
    d = price_decimals(sz_decimals)
    value = Decimal(repr(float(px)))
    magnitude = value.adjusted()  # floor(log10(px)), exact
    step_exp = 0 if magnitude >= PRICE_SIG_FIGS else max(magnitude - PRICE_SIG_FIGS + 1, -d)
    step = Decimal(1).scaleb(step_exp)
    mode = ROUND_HALF_EVEN if up is None else (ROUND_CEILING if up else ROUND_FLOOR)
    out = (value / step).to_integral_value(rounding=mode) * step
    if out <= 0:
        return min_price(sz_decimals)
    return float(out)


def price_steps(px: np.ndarray, sz_decimals: int) -> np.ndarray:
    """The tick at each price of `px` (vectorised `round_price`'s step): 5 significant figures, at most
    `6 - szDecimals` decimals, 1 from 100,000 up (integers are always valid)."""
    px = np.asarray(px, dtype=np.float64)
    if np.any(~np.isfinite(px)) or np.any(px <= 0):
        raise ValueError("prices must be positive and finite")
    step_exp = np.maximum(np.floor(np.log10(px)) - PRICE_SIG_FIGS + 1, -price_decimals(sz_decimals))
    step_exp = np.where(px >= 10**PRICE_SIG_FIGS, 0.0, step_exp)
    return 10.0**step_exp


def round_prices(px: np.ndarray, sz_decimals: int) -> np.ndarray:
    """`round_price(px)` (nearest valid price, ties to even) over an array, for the simulator's per-bar book."""
    px = np.asarray(px, dtype=np.float64)
    step = price_steps(px, sz_decimals)
    decimals = np.maximum(0, -np.round(np.log10(step))).astype(np.int64)
    n = np.round(px / step)
    out = n * step
    for d in np.unique(decimals):  # clean binary noise: n * 0.01 -> the float nearest to the decimal price
        sel = decimals == d
        out[sel] = np.round(out[sel], int(d))
    return out


def price_valid(px: Decimal, sz_decimals: int) -> bool:
    """The tick rule on a wire price: positive; an integer, or at most 5 significant figures and `6 - szDecimals`
    decimals."""
    if not px.is_finite() or px <= 0:
        return False
    if px == px.to_integral_value():
        return True
    t = px.normalize().as_tuple()
    decimals = -t.exponent if isinstance(t.exponent, int) and t.exponent < 0 else 0
    return decimals <= price_decimals(sz_decimals) and len(t.digits) <= PRICE_SIG_FIGS


def round_size(size: float, sz_decimals: int) -> float:
    """`size` rounded down to the lot (`szDecimals` decimals)."""
    if not math.isfinite(size) or size < 0:
        raise ValueError(f"size must be a non-negative finite number, got {size!r}")
    lot = Decimal(1).scaleb(-int(sz_decimals))
    return float(Decimal(repr(float(size))).quantize(lot, rounding=ROUND_DOWN))


def size_valid(sz: Decimal, sz_decimals: int) -> bool:
    """The lot rule on a wire size: positive, at most `szDecimals` decimals."""
    if not sz.is_finite() or sz <= 0:
        return False
    t = sz.normalize().as_tuple()
    decimals = -t.exponent if isinstance(t.exponent, int) and t.exponent < 0 else 0
    return decimals <= int(sz_decimals)


def meets_minimum(size: float, px: float, reduce_only: bool = False) -> bool:
    """The $10 minimum order value (reduce-only orders are exempt)."""
    return reduce_only or size * px >= MIN_ORDER_VALUE


def within_oracle_band(px: float, mark: float) -> bool:
    """A limit or trigger price near enough to the mark to be accepted."""
    return (1.0 - ORACLE_BAND) * mark <= px <= (1.0 + ORACLE_BAND) * mark


def trigger_limit(ref_px: float, is_buy: bool) -> float:
    """The worst price a fired market trigger may fill at: TRIGGER_SLIPPAGE through its reference price."""
    return ref_px * (1.0 + TRIGGER_SLIPPAGE) if is_buy else ref_px * (1.0 - TRIGGER_SLIPPAGE)


def asset_id(dex_index: int, index: int) -> int:
    """The asset id of the `index`-th coin of perp dex `dex_index` (0 = the main dex)."""
    return index if dex_index == 0 else BUILDER_DEX_ASSET_BASE + dex_index * BUILDER_DEX_ASSET_STRIDE + index


def dex_of(coin: str) -> str:
    """The perp dex of a coin name: "xyz" for "xyz:XYZ100", "" for the main dex."""
    return coin.split(":", 1)[0] if ":" in coin else ""


@dataclass(frozen=True)
class AssetRules:
    """One perp's rules as the venue's `meta` states them: name ("xyz:XYZ100"), asset id, size decimals, maximum
    leverage, margin mode. The rounding and validation are the module's functions at this asset's decimals."""

    name: str
    asset: int
    sz_decimals: int
    max_leverage: int
    margin_mode: str = "cross"

    @property
    def dex(self) -> str:
        return dex_of(self.name)

    @property
    def price_decimals(self) -> int:
        return price_decimals(self.sz_decimals)

    @property
    def lot(self) -> float:
        return 10.0**-self.sz_decimals

    @property
    def min_order_value(self) -> float:
        return MIN_ORDER_VALUE

    @property
    def trigger_slippage(self) -> float:
        return TRIGGER_SLIPPAGE

    def round_price(self, px: float, up: bool | None = None) -> float:
        """See `round_price`."""
        return round_price(px, self.sz_decimals, up)

    def round_size(self, size: float) -> float:
        """See `round_size`."""
        return round_size(size, self.sz_decimals)

    def price_valid(self, px: Decimal) -> bool:
        return price_valid(px, self.sz_decimals)

    def size_valid(self, sz: Decimal) -> bool:
        return size_valid(sz, self.sz_decimals)

    def meets_minimum(self, size: float, px: float, reduce_only: bool = False) -> bool:
        return meets_minimum(size, px, reduce_only)


# The markets this project trades or simulates, as the venue lists them (checked 2026-12 against
# /work/shared/reference/hyperliquid-api.md §8; the paper exchange serves these). Read them from `meta` when the
# venue answers. Asset ids are those of a venue listing BTC, ETH first on the main dex and xyz as builder dex 1.
MARKETS: dict[str, AssetRules] = {
    "BTC": AssetRules("BTC", asset_id(0, 0), 5, 40),
    "ETH": AssetRules("ETH", asset_id(0, 1), 4, 25),
    "xyz:XYZ100": AssetRules("xyz:XYZ100", asset_id(1, 0), 4, 20),
}


def rules_for(coin: str) -> AssetRules:
    """The offline rules of a market in `MARKETS` (KeyError names the known ones)."""
    try:
        return MARKETS[coin]
    except KeyError:
        known = sorted(MARKETS)
        raise KeyError(f"no offline rules for {coin!r}; known: {known} (read them from the venue's meta)") from None


def rules_from_meta(meta: dict, name: str, asset: int) -> AssetRules:
    """AssetRules of `name` from a `meta` answer (`universe` entries with name, szDecimals, maxLeverage, and the
    optional marginMode / onlyIsolated)."""
    for entry in meta.get("universe", []):
        if entry.get("name") == name:
            mode = entry.get("marginMode") or ("isolated" if entry.get("onlyIsolated") else "cross")
            return AssetRules(name, asset, int(entry["szDecimals"]), int(entry.get("maxLeverage", 1)), str(mode))
    raise KeyError(f"{name} is not in the venue's meta (known: {[e.get('name') for e in meta.get('universe', [])]})")
