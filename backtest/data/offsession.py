"""Synthetic prices while a HIP-3 market's outside market is closed: the venue's off-session rules, as a model.

XYZ100 trades 24/7, but its oracle follows NQ futures only during the CME session (`backtest.venue.calendar`).
Outside it the venue prices the perp from an internal moving average of its own price (about 1 h) and holds the
price within a band around it (about +-3.5 %): `OffSessionRules`, venue facts. This module turns them into a
generator mode (`synth.off_session`):

- closed bars (calendar state not OPEN) move with the in-session volatility times `vol_multiplier` (quiet: there is
  no outside price to follow), carry no planted edge and no jumps;
- every close of a closed bar is held within `band_frac` of the exponential moving average (window `ema_seconds`)
  of the closes before it (`hold_in_band`), and so are its high and low;
- when the session reopens, the perp jumps to where the outside market opened: a gap drawn as in-session per-bar
  volatility x sqrt(closed bars) x `reopen_gap_scale` (`reopen_gaps`).

The API is small so that other code can build on it: `OffSessionParams.for_market(calendar, cfg)` (None for 24/7
markets or when the mode is off), `closed_mask`, `hold_in_band` (numba), `reopen_gaps`, `bridge_extremes` (the
generator's exact Brownian-bridge highs and lows), `sigma_from_bars` (a calibration hook: robust per-bar volatility
of adjacent real bars) and `fill_closed_stretch` (bars for one closed stretch, e.g. to fill the gap a real index
series has over a weekend, starting from the last real close).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from backtest.data.schema import TIMESTAMP_DTYPE, timestamps_ms
from backtest.jit import cached_njit

if TYPE_CHECKING:
    from backtest.config import OffSessionConfig
    from backtest.venue.calendar import SessionCalendar


@dataclass(frozen=True)
class OffSessionParams:
    """The off-session model of one market: the venue's band and average, and the model's volatility and gaps."""

    band_frac: float  # venue: the price stays within +- this fraction of the oracle's moving average
    ema_seconds: float  # venue: the oracle's moving-average window
    vol_multiplier: float  # model: off-session volatility / in-session volatility
    reopen_gap_scale: float  # model: reopen gap std / (in-session per-bar vol x sqrt(closed bars))
    calendar: str = ""  # the calendar's name, for provenance

    @classmethod
    def for_market(cls, calendar: SessionCalendar | None, cfg: OffSessionConfig) -> OffSessionParams | None:
        """The model for a market with this calendar, or None when it trades on its own prices 24/7 or the mode is
        off (`synth.off_session.enabled: false`)."""
        if calendar is None or calendar.always_open or calendar.off_session is None or not cfg.enabled:
            return None
        rules = calendar.off_session
        return cls(rules.band_frac, rules.oracle_ema_seconds, cfg.vol_multiplier, cfg.reopen_gap_scale, calendar.name)

    def alpha(self, interval_s: int) -> float:
        """The moving average's weight of one new bar of `interval_s` seconds."""
        return float(1.0 - np.exp(-interval_s / self.ema_seconds))

    def to_dict(self) -> dict:
        return {
            "calendar": self.calendar,
            "band_frac": self.band_frac,
            "ema_seconds": self.ema_seconds,
            "vol_multiplier": self.vol_multiplier,
            "reopen_gap_scale": self.reopen_gap_scale,
        }


def closed_mask(ts_ms: np.ndarray, calendar: SessionCalendar) -> np.ndarray:
    """True for bars whose open falls outside the outside market's session."""
    return ~calendar.is_open(np.asarray(ts_ms, dtype=np.int64))


@cached_njit()
def hold_in_band(log_open0, r, closed, alpha, band, ema0):  # pragma: no cover - compiled
    """Log closes from returns `r`, each closed bar's close held within +-band of the moving average of the closes
    before it. Returns (log_close, center): center[t] is that average (the band's middle) before bar t."""
    n = r.shape[0]
    lc = np.empty(n)
    center = np.empty(n)
    prev = log_open0
    ema = ema0 if ema0 > 0.0 else np.exp(log_open0)
    lo_f, hi_f = np.log(1.0 - band), np.log(1.0 + band)
    for t in range(n):
        center[t] = ema
        x = prev + r[t]
        if closed[t]:
            lc_ema = np.log(ema)
            if x > lc_ema + hi_f:
                x = lc_ema + hi_f
            elif x < lc_ema + lo_f:
                x = lc_ema + lo_f
        lc[t] = x
        ema = ema + alpha * (np.exp(x) - ema)
        prev = x
    return lc, center


def reopen_gaps(closed: np.ndarray, sigma_open: np.ndarray, normals: np.ndarray, scale: float) -> np.ndarray:
    """Log-return added at the first open bar after each closed stretch: normals x sigma x sqrt(stretch) x scale.

    `sigma_open` is the in-session per-bar volatility at each bar; `normals` standard normal draws (one per bar).
    """
    closed = np.asarray(closed, dtype=bool)
    gaps = np.zeros(closed.shape[0])
    if scale <= 0 or closed.shape[0] < 2:
        return gaps
    change = np.flatnonzero(closed[:-1] != closed[1:]) + 1  # first bar of each new stretch
    starts = np.concatenate(([0], change))
    for a, b in itertools.pairwise(starts):
        if closed[a] and not closed[b]:
            gaps[b] = normals[b] * sigma_open[b] * np.sqrt(b - a) * scale
    return gaps


def bridge_extremes(log_open: np.ndarray, r: np.ndarray, sigma: np.ndarray, u1: np.ndarray, u2: np.ndarray):
    """Exact Brownian-bridge maximum and minimum log moves of a bar from 0 to `r` with per-bar volatility `sigma`
    (uniform draws `u1`, `u2`): returns (high, low) prices, with low <= open, close <= high."""
    var = sigma**2
    up = 0.5 * (r + np.sqrt(r * r - 2.0 * var * np.log1p(-u1)))
    down = 0.5 * (r - np.sqrt(r * r - 2.0 * var * np.log1p(-u2)))
    open_, close = np.exp(log_open), np.exp(log_open + r)
    high = np.maximum(np.exp(log_open + up), np.maximum(open_, close))
    low = np.minimum(np.exp(log_open + down), np.minimum(open_, close))
    return high, low


def clamp_extremes(high, low, open_, close, center, closed, band):
    """Highs and lows of closed bars held within the band around `center` (never inside the bar's open and close)."""
    top = np.where(closed, center * (1.0 + band), np.inf)
    bottom = np.where(closed, center * (1.0 - band), 0.0)
    body_hi, body_lo = np.maximum(open_, close), np.minimum(open_, close)
    return np.maximum(np.minimum(high, top), body_hi), np.minimum(np.maximum(low, bottom), body_lo)


def sigma_from_bars(bars: pd.DataFrame) -> float:
    """Calibration hook: the robust per-bar volatility (1.4826 x MAD of log(close / open)) of in-session bars, e.g.
    the real bars adjacent to a closed stretch to fill."""
    o = bars["open"].to_numpy(dtype=np.float64)
    c = bars["close"].to_numpy(dtype=np.float64)
    r = np.log(c / o)
    if r.size == 0:
        raise ValueError("sigma_from_bars needs at least one bar")
    return float(1.4826 * np.median(np.abs(r - np.median(r))))


def fill_closed_stretch(
    last_close: float,
    ts_ms: np.ndarray,
    sigma_bar: float,
    params: OffSessionParams,
    rng: np.random.Generator,
    interval_s: int = 60,
    volume: float = 1.0,
    trades: float = 1.0,
    ema0: float | None = None,
) -> pd.DataFrame:
    """Synthetic bars (source "synthetic") for one closed stretch at bar opens `ts_ms`, starting from `last_close`:
    in-session per-bar volatility `sigma_bar` x `vol_multiplier`, held in the band around the moving average
    (started at `ema0`, default `last_close`). `volume` and `trades` are the in-session means per bar (scaled like
    the volatility)."""
    ts = np.asarray(ts_ms, dtype=np.int64)
    n = ts.shape[0]
    sigma = np.full(n, float(sigma_bar) * params.vol_multiplier)
    r = rng.standard_normal(n) * sigma
    closed = np.ones(n, dtype=bool)
    log0 = float(np.log(last_close))
    lc, center = hold_in_band(log0, r, closed, params.alpha(interval_s), params.band_frac, float(ema0 or last_close))
    log_open = np.concatenate(([log0], lc[:-1]))
    r_eff = lc - log_open
    high, low = bridge_extremes(log_open, r_eff, sigma, rng.random(n), rng.random(n))
    open_, close = np.exp(log_open), np.exp(lc)
    high, low = clamp_extremes(high, low, open_, close, center, closed, params.band_frac)
    vol = np.maximum(np.round(volume * params.vol_multiplier * rng.lognormal(0.0, 0.5, n), 4), 1e-4)
    return pd.DataFrame(
        {
            "timestamp": pd.Series(ts.astype("datetime64[ms]")).dt.tz_localize("UTC").astype(TIMESTAMP_DTYPE),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": vol,
            "trades": (1 + rng.poisson(max(trades * params.vol_multiplier - 1.0, 0.0), n)).astype(np.int64),
            "source": pd.Series(np.full(n, "synthetic", dtype=object), dtype=str),
        }
    )


def closed_share(bars: pd.DataFrame, calendar: SessionCalendar) -> float:
    """Share of `bars` opening outside the session (for provenance)."""
    ts = timestamps_ms(bars)
    return float(closed_mask(ts, calendar).mean()) if len(ts) else 0.0
