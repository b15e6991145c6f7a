"""Estimate synthetic-generator parameters from real bars, and blend them with the configured defaults.

Estimated (when the bars allow it): annual_vol, vol_persistence, high_vol_multiplier, jump_prob, jump_scale,
intraday_amplitude, weekly_amplitude, base_volume, trades_per_bar, start_price. Regime switching, trend drift and
the planted edge are not estimated (a few days of real data cannot identify them) and keep their configured values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from backtest.config import SynthConfig
from backtest.data.schema import DataError, timestamps_ms

MIN_BARS = 120
_SECONDS_PER_YEAR = 365 * 86400


def _acf(x: np.ndarray, lag: int) -> float:
    x = x - x.mean()
    den = float(np.dot(x, x))
    return float(np.dot(x[lag:], x[:-lag]) / den) if den > 0 else 0.0


def calibrate(bars: pd.DataFrame, interval_s: int = 60) -> dict[str, Any]:
    """SynthConfig field values estimated from `bars` (at least MIN_BARS rows); unidentifiable fields are omitted."""
    if len(bars) < MIN_BARS:
        raise DataError(f"calibration needs at least {MIN_BARS} bars, got {len(bars)}")
    o = bars["open"].to_numpy(dtype=np.float64)
    c = bars["close"].to_numpy(dtype=np.float64)
    r = np.log(c / o)
    out: dict[str, Any] = {"start_price": float(o[0])}
    std = float(r.std())
    if std > 0:
        out["annual_vol"] = float(np.clip(std * np.sqrt(_SECONDS_PER_YEAR / interval_s), 1e-4, 5.0))
    a = np.abs(r)
    rho1, rho2 = _acf(a, 1), _acf(a, 2)
    if rho1 > 0.02:
        out["vol_persistence"] = float(np.clip(rho2 / rho1, 0.5, 0.995))
    robust = 1.4826 * float(np.median(np.abs(r - np.median(r))))
    if robust > 0:
        jumps = np.abs(r) > 6.0 * robust
        out["jump_prob"] = float(np.clip(jumps.mean(), 0.0, 0.1))
        if jumps.any():
            out["jump_scale"] = float(np.clip(np.abs(r[jumps]).mean() / robust, 0.0, 100.0))
        window = min(60, len(r) // 4)
        roll = pd.Series(r).rolling(window).std().to_numpy()[window - 1 :]
        med = float(np.median(roll))
        if med > 0:
            out["high_vol_multiplier"] = float(np.clip(np.percentile(roll, 95) / med, 1.0, 20.0))
    sec = timestamps_ms(bars) // 1000
    hours = (sec % 86400) // 3600
    if len(np.unique(hours)) == 24:
        prof = np.bincount(hours, weights=a, minlength=24) / np.bincount(hours, minlength=24)
        if prof.max() + prof.min() > 0:
            out["intraday_amplitude"] = float(np.clip((prof.max() - prof.min()) / (prof.max() + prof.min()), 0, 0.9))
    weekend = (((sec // 86400) + 3) % 7) >= 5
    if weekend.any() and (~weekend).any() and a[~weekend].mean() > 0:
        q = a[weekend].mean() / a[~weekend].mean()
        out["weekly_amplitude"] = float(np.clip((1 - q) / (1 + 0.4 * q), 0.0, 0.9))
    vol = float(bars["volume"].mean())
    if vol > 0:
        out["base_volume"] = vol
    trades = float(bars["trades"].mean())
    if trades > 0:
        out["trades_per_bar"] = trades
    return out


def blend(defaults: SynthConfig, calibrated: dict[str, Any], weight: float) -> SynthConfig:
    """weight * calibrated + (1 - weight) * defaults for every calibrated field (0 = defaults, 1 = calibrated)."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be in [0, 1], got {weight}")
    data = defaults.model_dump()
    for key, value in calibrated.items():
        data[key] = weight * float(value) + (1.0 - weight) * float(data[key])
    data["garch_alpha"] = min(data["garch_alpha"], data["vol_persistence"])
    return SynthConfig.model_validate(data)
