"""An asset's trading rules on HyperLiquid: tick (5 significant figures, `6 - szDecimals` decimals for perps), lot
(`szDecimals`) and the $10 minimum order value. Read them from `meta`; never hard-code an asset's values."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

import numpy as np

MIN_ORDER_VALUE = 10.0  # USD; reduce-only orders are exempt
PRICE_SIG_FIGS = 5
PERP_PRICE_DECIMALS = 6


@dataclass(frozen=True)
class AssetRules:
    """What the venue's `meta` says about one perp: name ("xyz:XYZ100"), asset id, size decimals, max leverage."""

    name: str
    asset: int
    sz_decimals: int
    max_leverage: int

    @property
    def price_decimals(self) -> int:
        return max(0, PERP_PRICE_DECIMALS - self.sz_decimals)

    def round_price(self, px: float, up: bool | None = None) -> float:
        """A valid price near `px`: 5 significant figures and at most `6 - szDecimals` decimals (integers always
        valid). `up` True/False rounds away from/toward zero in that direction (buy limits up, sell limits down)."""
        if px <= 0 or not math.isfinite(px):
            raise ValueError(f"price must be a positive finite number, got {px!r}")
        magnitude = math.floor(math.log10(px))
        step_exp = max(magnitude - PRICE_SIG_FIGS + 1, -self.price_decimals)
        if px >= 10**PRICE_SIG_FIGS:  # integers are always valid, whatever their digits
            step_exp = 0
        step = Decimal(10) ** step_exp
        q = Decimal(repr(px)) / step
        if up is None:
            n = q.to_integral_value()
        elif up:
            n = q.to_integral_value(rounding="ROUND_CEILING")
        else:
            n = q.to_integral_value(rounding="ROUND_FLOOR")
        return float(n * step)

    def round_size(self, size: float) -> float:
        """`size` rounded down to the lot (`szDecimals`), never up: an order never exceeds what sizing allowed."""
        if size < 0 or not math.isfinite(size):
            raise ValueError(f"size must be a non-negative finite number, got {size!r}")
        lot = Decimal(1).scaleb(-self.sz_decimals)
        return float(Decimal(repr(size)).quantize(lot, rounding=ROUND_DOWN))

    def meets_minimum(self, size: float, px: float) -> bool:
        return size * px >= MIN_ORDER_VALUE


def rules_from_meta(meta: dict, name: str, asset: int) -> AssetRules:
    """AssetRules of `name` from a `meta` answer (`universe` entries with name, szDecimals, maxLeverage)."""
    for entry in meta.get("universe", []):
        if entry.get("name") == name:
            return AssetRules(name, asset, int(entry["szDecimals"]), int(entry.get("maxLeverage", 1)))
    raise KeyError(f"{name} is not in the venue's meta (known: {[e.get('name') for e in meta.get('universe', [])]})")


def price_steps(px: np.ndarray, sz_decimals: int) -> np.ndarray:
    """The tick at each price of `px` (vectorised `AssetRules.round_price`'s step): 5 significant figures, at most
    `6 - szDecimals` decimals, 1 from 100,000 up (integers are always valid)."""
    px = np.asarray(px, dtype=np.float64)
    if np.any(~np.isfinite(px)) or np.any(px <= 0):
        raise ValueError("prices must be positive and finite")
    step_exp = np.maximum(np.floor(np.log10(px)) - PRICE_SIG_FIGS + 1, -max(0, PERP_PRICE_DECIMALS - sz_decimals))
    step_exp = np.where(px >= 10**PRICE_SIG_FIGS, 0.0, step_exp)
    return 10.0**step_exp


def round_prices(px: np.ndarray, sz_decimals: int) -> np.ndarray:
    """`AssetRules.round_price(px)` (nearest valid price) over an array, for the simulator's per-bar book."""
    px = np.asarray(px, dtype=np.float64)
    step = price_steps(px, sz_decimals)
    decimals = np.maximum(0, -np.round(np.log10(step))).astype(np.int64)
    n = np.round(px / step)
    out = n * step
    for d in np.unique(decimals):  # clean binary noise: n * 0.01 -> the float nearest to the decimal price
        sel = decimals == d
        out[sel] = np.round(out[sel], int(d))
    return out
