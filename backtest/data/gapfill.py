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
same series and seed give the same fill. The closed-session model is the generator's off-session mode
(`backtest/data/offsession.py`: `hold_in_band`, `bridge_extremes`, `clamp_extremes`, with
`synth.off_session.vol_multiplier`), so synthetic data and filled holes follow one rule.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from backtest.data.offsession import bridge_extremes, clamp_extremes, hold_in_band, sigma_from_bars
from backtest.data.schema import TIMESTAMP_DTYPE, timestamps_ms
from backtest.venue.calendar import SessionCalendar

CALIBRATION_BARS = 1440
MIN_CALIBRATION = 30


def _robust_sigma(bars: pd.DataFrame) -> float:
    return sigma_from_bars(bars) if len(bars) else 0.0


def _stretch(last_close, ts, sigma, closed, band, alpha, rng, volume, trades, quiet) -> dict[str, np.ndarray]:
    """OHLCV for one stretch of bar opens `ts` from `last_close` (band-held and `quiet` x the volatility when
    `closed`), with the generator's off-session pieces."""
    n = len(ts)
    quiet = quiet if closed else 1.0
    s = np.full(n, sigma * quiet)
    r = rng.standard_normal(n) * s
    log0 = float(np.log(last_close))
    if closed:
        lc, center = hold_in_band(log0, r, np.ones(n, dtype=np.bool_), alpha, band, float(last_close))
    else:
        lc, center = log0 + np.cumsum(r), None
    lo = np.concatenate(([log0], lc[:-1]))
    high, low = bridge_extremes(lo, lc - lo, s, rng.random(n), rng.random(n))
    open_, close = np.exp(lo), np.exp(lc)
    if closed:  # highs and lows stay in the band too (never inside the bar's body)
        high, low = clamp_extremes(high, low, open_, close, center, np.ones(n, dtype=bool), band)
    vol = np.maximum(np.round(volume * quiet * rng.lognormal(0.0, 0.5, n), 4), 1e-4)
    n_trades = 1 + rng.poisson(max(trades * quiet - 1.0, 0.0), n)
    return {"ts": ts, "open": open_, "high": high, "low": low, "close": close, "volume": vol, "trades": n_trades}


def fill_gaps(
    base: pd.DataFrame, interval_s: int, calendar: SessionCalendar, seed: int, closed_vol_multiplier: float
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """`base` (real and proxy bars, sorted, unique) with every missing bar time between its first and last bar
    filled by labelled synthetic bars; returns (bars, what was filled). `closed_vol_multiplier` is the off-session
    volatility ratio (`synth.off_session.vol_multiplier`)."""
    ts = timestamps_ms(base)
    iv = interval_s * 1000
    holes = np.flatnonzero(np.diff(ts) > iv)
    info: dict[str, Any] = {"holes": len(holes), "closed_bars": 0, "in_session_bars": 0,
                            "closed_vol_multiplier": closed_vol_multiplier}  # fmt: skip
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
            piece = _stretch(last, slots[a:b], cal[0], bool(closed[a]), band, alpha, rng, cal[1], cal[2],
                             closed_vol_multiplier)  # fmt: skip
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
