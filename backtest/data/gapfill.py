"""Fill the holes of a real + proxy series with labelled synthetic bars (`--data hybrid`).

A hole is every bar time of the span that has neither a real HyperLiquid bar nor a proxy bar: the proxy's closed
sessions (weekends, the daily break, holidays), minutes without trades, a recorder outage. Each hole is cut into
stretches by the market's calendar (`backtest.venue.calendar`) and filled from the last bar before it, never from
the bar after it (a fill that drifted toward the next real open would tell a strategy where the market reopens):

- a closed stretch follows the venue's off-session rule for the market (`OffSessionRules`): quiet (per-bar
  volatility x `CLOSED_VOL_MULTIPLIER`), its closes held within the band (+-`band_frac`) around the moving average
  of the price (window `oracle_ema_seconds`), started at the last real close; the reopening is the next real bar's
  own open, so the jump there is the market's;
- an in-session stretch (bars missing while the market trades) moves with the adjacent bars' volatility;
- the volatility is calibrated on the adjacent real data: the robust per-bar volatility (1.4826 x MAD of
  log(close / open)) of up to `CALIBRATION_BARS` in-session bars before the hole (the whole series' in-session bars
  when fewer than `MIN_CALIBRATION` precede it), likewise the mean volume and trade count.

Every filled bar carries source "synthetic". Seeded per hole by (params.synth.seed, the hole's first bar time): the
same series and seed give the same fill. This module uses the generator's public pieces only; the venue's
off-session generator mode (branch `venue`, `backtest/data/offsession.py`) is meant to replace `_stretch` when it
is on main.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numba import njit

from backtest.data.schema import TIMESTAMP_DTYPE, timestamps_ms
from backtest.venue.calendar import SessionCalendar

CLOSED_VOL_MULTIPLIER = 0.2  # closed-session volatility / in-session volatility (quiet: no outside price to follow)
CALIBRATION_BARS = 1440
MIN_CALIBRATION = 30


@njit(cache=True)
def _hold_in_band(log0, r, band, alpha, ema0):  # pragma: no cover - compiled
    """Log closes from returns `r`, each held within +-band of the moving average of the closes before it."""
    n = r.shape[0]
    lc = np.empty(n)
    center = np.empty(n)
    prev, ema = log0, ema0
    lo_f, hi_f = np.log(1.0 - band), np.log(1.0 + band)
    for t in range(n):
        center[t] = ema
        x = prev + r[t]
        le = np.log(ema)
        x = min(max(x, le + lo_f), le + hi_f)
        lc[t] = x
        ema = ema + alpha * (np.exp(x) - ema)
        prev = x
    return lc, center


def _robust_sigma(bars: pd.DataFrame) -> float:
    r = np.log(bars["close"].to_numpy(np.float64) / bars["open"].to_numpy(np.float64))
    return float(1.4826 * np.median(np.abs(r - np.median(r)))) if r.size else 0.0


def _stretch(last_close, ts, sigma, closed, band, alpha, rng, volume, trades) -> dict[str, np.ndarray]:
    """OHLCV for one stretch of bar opens `ts` from `last_close` (band-held when `closed`)."""
    n = len(ts)
    s = sigma * (CLOSED_VOL_MULTIPLIER if closed else 1.0)
    r = rng.standard_normal(n) * s
    log0 = float(np.log(last_close))
    if closed:
        lc, center = _hold_in_band(log0, r, band, alpha, float(last_close))
    else:
        lc, center = log0 + np.cumsum(r), None
    lo = np.concatenate(([log0], lc[:-1]))
    step = lc - lo
    var = s * s
    up = 0.5 * (step + np.sqrt(step * step - 2.0 * var * np.log1p(-rng.random(n))))
    down = 0.5 * (step - np.sqrt(step * step - 2.0 * var * np.log1p(-rng.random(n))))
    open_, close = np.exp(lo), np.exp(lc)
    high = np.maximum(np.exp(lo + up), np.maximum(open_, close))
    low = np.minimum(np.exp(lo + down), np.minimum(open_, close))
    if closed:  # highs and lows stay in the band too (never inside the bar's body)
        high = np.maximum(np.minimum(high, center * (1 + band)), np.maximum(open_, close))
        low = np.minimum(np.maximum(low, center * (1 - band)), np.minimum(open_, close))
    quiet = CLOSED_VOL_MULTIPLIER if closed else 1.0
    vol = np.maximum(np.round(volume * quiet * rng.lognormal(0.0, 0.5, n), 4), 1e-4)
    n_trades = 1 + rng.poisson(max(trades * quiet - 1.0, 0.0), n)
    return {"ts": ts, "open": open_, "high": high, "low": low, "close": close, "volume": vol, "trades": n_trades}


def fill_gaps(
    base: pd.DataFrame, interval_s: int, calendar: SessionCalendar, seed: int
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """`base` (real and proxy bars, sorted, unique) with every missing bar time between its first and last bar
    filled by labelled synthetic bars; returns (bars, what was filled)."""
    ts = timestamps_ms(base)
    iv = interval_s * 1000
    holes = np.flatnonzero(np.diff(ts) > iv)
    info: dict[str, Any] = {"holes": len(holes), "closed_bars": 0, "in_session_bars": 0,
                            "closed_vol_multiplier": CLOSED_VOL_MULTIPLIER}  # fmt: skip
    if len(holes) == 0:
        return base, info
    rules = calendar.off_session
    band = rules.band_frac if rules else np.inf
    alpha = float(1.0 - np.exp(-interval_s / rules.oracle_ema_seconds)) if rules else 0.0
    info.update(band_frac=rules.band_frac if rules else None, ema_seconds=rules.oracle_ema_seconds if rules else None)
    open_mask = calendar.is_open(ts)
    in_session = base[open_mask]
    overall = (_robust_sigma(in_session if len(in_session) >= MIN_CALIBRATION else base),
               float(base["volume"].mean()), float(base["trades"].mean()))  # fmt: skip
    session_pos = np.cumsum(open_mask)  # in-session bars up to and including each bar
    session_idx = np.flatnonzero(open_mask)
    parts = []
    for h in holes:
        k = int(session_pos[h])
        if k >= MIN_CALIBRATION:
            adj = base.iloc[session_idx[max(0, k - CALIBRATION_BARS) : k]]
            cal = (_robust_sigma(adj), float(adj["volume"].mean()), float(adj["trades"].mean()))
        else:
            cal = overall
        slots = np.arange(ts[h] + iv, ts[h + 1], iv, dtype=np.int64)
        closed = ~calendar.is_open(slots)
        cuts = np.flatnonzero(np.diff(closed.astype(np.int8))) + 1
        rng = np.random.default_rng([seed, int(ts[h] // 1000)])
        last = float(base["close"].iloc[h])
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(slots)]):
            piece = _stretch(last, slots[a:b], cal[0], bool(closed[a]), band, alpha, rng, cal[1], cal[2])
            parts.append(piece)
            last = float(piece["close"][-1])
            info["closed_bars" if closed[a] else "in_session_bars"] += int(b - a)
    fill = pd.DataFrame({k: np.concatenate([p[k] for p in parts]) for k in parts[0]})
    fill = pd.DataFrame(
        {
            "timestamp": pd.Series(fill["ts"].to_numpy().astype("datetime64[ms]")).dt.tz_localize("UTC")
            .astype(TIMESTAMP_DTYPE),
            **{c: fill[c].to_numpy(np.float64) for c in ("open", "high", "low", "close", "volume")},
            "trades": fill["trades"].to_numpy(np.int64),
            "source": "synthetic",
        }
    )  # fmt: skip
    out = pd.concat([base, fill], ignore_index=True).sort_values("timestamp", kind="stable").reset_index(drop=True)
    return out, info
