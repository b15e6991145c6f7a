"""Seeded generator of realistic 1-minute (or any interval) bars, with an optional planted edge.

Model, per bar t (all draws from one `numpy.random.Generator` seeded by `seed`, in a fixed order):

- Regimes: a Markov chain over RANGE (0), TREND (1) and HIGH_VOL (2). Each bar the chain leaves its regime with
  probability `regime_switch_prob` and moves to one of the two others with equal probability (stationary share 1/3
  each). A TREND regime draws a direction d = +1 or -1 when it starts.
- Volatility: sigma_t = sigma_base * season_t * m(regime_t) * sqrt(h_t), where sigma_base = annual_vol /
  sqrt(bars per 365-day year), m = range_vol_multiplier | 1 | high_vol_multiplier (normalised to mean square 1),
  season_t = (1 + intraday_amplitude * cos(2 pi (hour_utc - 14.5) / 24)) * weekly factor (weekdays
  1 + 0.4 * weekly_amplitude, weekends 1 - weekly_amplitude), normalised to mean square 1, and h_t is a GARCH(1,1)
  variance with unit mean: h_t = (1 - a - b) + a * e_{t-1}^2 + b * h_{t-1}, a = garch_alpha,
  a + b = vol_persistence, driven by Student-t shocks z_t (tail_df degrees of freedom, unit variance),
  e_t = sqrt(h_t) z_t. This gives volatility clustering: |returns| are positively autocorrelated.
- Jumps: with probability jump_prob a bar adds N(0, 1) * jump_scale * sigma_t.
- Log return: r_t = mu_t + u_t + jump_t with u_t = phi_t * u_{t-1} + sqrt(1 - phi_t^2) * sigma_t * e_t.

The planted edge (`synth.edge`):

- edge.enabled = false: phi_t = 0 and mu_t = 0 everywhere, so log prices are a martingale with stochastic
  volatility: no lag of past returns predicts the next one (only the size of moves is predictable).
- edge.enabled = true: inside TREND regimes phi_t = edge.strength and mu_t = d * trend_drift_bps / 1e4; elsewhere
  both stay 0. So within a trend, the lag-1 autocorrelation of 1-minute returns is about `strength` and returns
  lean in the regime's direction; a learner that detects the trend and trades with recent returns has a positive
  expectation before costs. Variance is unchanged by the AR term (the sqrt(1 - phi^2) factor).

Bars: open_t = close_{t-1}; close_t = open_t * exp(r_t); high and low are the maximum and minimum of a Brownian
bridge from 0 to r_t with variance sigma_t^2 (exact draw), so low <= open, close <= high always. Volume and trade
counts follow the conditional volatility and the size of the move with log-normal noise, scaled to base_volume and
trades_per_bar on average. Every bar carries source = "synthetic".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from backtest.config import SynthConfig
from backtest.data.schema import TIMESTAMP_DTYPE

RANGE, TREND, HIGH_VOL = 0, 1, 2
REGIME_NAMES = ("range", "trend", "high_vol")
DEFAULT_START = pd.Timestamp("2026-01-01", tz="UTC")
_SECONDS_PER_YEAR = 365 * 86400


@dataclass(frozen=True)
class SynthPath:
    """A generated path: the bars plus the hidden state that produced them (for tests and diagnostics)."""

    bars: pd.DataFrame
    regime: np.ndarray  # int8 [n]: RANGE | TREND | HIGH_VOL
    direction: np.ndarray  # int8 [n]: +1 / -1 trend direction of the current regime segment
    sigma: np.ndarray  # float64 [n]: conditional per-bar volatility of the diffusive part


@njit(cache=True)
def _returns_kernel(z, scale, phi, mu, alpha, beta):  # pragma: no cover - compiled
    n = z.shape[0]
    r = np.empty(n)
    cond = np.empty(n)
    h = 1.0
    e_prev = 0.0
    u = 0.0
    omega = 1.0 - alpha - beta
    for t in range(n):
        if t > 0:
            h = omega + alpha * e_prev * e_prev + beta * h
        sh = np.sqrt(h)
        e = sh * z[t]
        s = scale[t] * sh
        u = phi[t] * u + np.sqrt(1.0 - phi[t] * phi[t]) * scale[t] * e
        r[t] = mu[t] + u
        cond[t] = s
        e_prev = e
    return r, cond


def _regimes(rng: np.random.Generator, n: int, p: float) -> tuple[np.ndarray, np.ndarray]:
    """Regime label and trend direction per bar, from geometric segment lengths."""
    if p <= 0:
        first = rng.integers(0, 3)
        sign = 1 if rng.random() < 0.5 else -1
        return np.full(n, first, np.int8), np.full(n, sign, np.int8)
    k = int(n * p * 1.5) + 16
    lengths = rng.geometric(p, size=k)
    while lengths.sum() < n:
        lengths = np.concatenate([lengths, rng.geometric(p, size=k)])
    steps = rng.integers(1, 3, size=len(lengths))
    labels = (rng.integers(0, 3) + np.concatenate([[0], np.cumsum(steps[1:])])) % 3
    signs = np.where(rng.random(len(lengths)) < 0.5, 1, -1)
    regime = np.repeat(labels.astype(np.int8), lengths)[:n]
    direction = np.repeat(signs.astype(np.int8), lengths)[:n]
    return regime, direction


def seasonal_factor(ts_ms: np.ndarray, cfg: SynthConfig) -> np.ndarray:
    """Intraday times weekly volatility multiplier for bar open times (ms), not yet normalised."""
    sec = ts_ms // 1000
    hour = (sec % 86400) / 3600.0
    weekday = ((sec // 86400) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    intraday = 1.0 + cfg.intraday_amplitude * np.cos(2 * np.pi * (hour - 14.5) / 24.0)
    weekly = np.where(weekday >= 5, 1.0 - cfg.weekly_amplitude, 1.0 + 0.4 * cfg.weekly_amplitude)
    return intraday * weekly


def simulate(
    n_bars: int,
    cfg: SynthConfig,
    start: pd.Timestamp | None = None,
    interval_s: int = 60,
    seed: int | None = None,
) -> SynthPath:
    """Generate `n_bars` bars and the hidden regime/volatility path (see the module docstring)."""
    if n_bars < 0:
        raise ValueError(f"n_bars must be >= 0, got {n_bars}")
    rng = np.random.default_rng(cfg.seed if seed is None else seed)
    start = DEFAULT_START if start is None else pd.Timestamp(start)
    start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
    ts_ms = start.value // 1_000_000 + np.arange(n_bars, dtype=np.int64) * (interval_s * 1000)

    regime, direction = _regimes(rng, n_bars, cfg.regime_switch_prob)
    season = seasonal_factor(ts_ms, cfg)
    season = season / np.sqrt(np.mean(season**2)) if n_bars else season
    mults = np.array([cfg.range_vol_multiplier, 1.0, cfg.high_vol_multiplier])
    mults = mults / np.sqrt(np.mean(mults**2))
    sigma_base = cfg.annual_vol / np.sqrt(_SECONDS_PER_YEAR / interval_s)
    scale = sigma_base * season * mults[regime]

    df = cfg.tail_df
    z = rng.standard_t(df, size=n_bars) * np.sqrt((df - 2.0) / df)
    in_trend = (regime == TREND) & cfg.edge.enabled
    phi = np.where(in_trend, cfg.edge.strength, 0.0)
    mu = np.where(in_trend, direction * cfg.trend_drift_bps * 1e-4, 0.0)
    alpha = cfg.garch_alpha
    beta = cfg.vol_persistence - alpha
    r, cond = _returns_kernel(z, scale, phi, mu, alpha, beta)

    jump_on = rng.random(n_bars) < cfg.jump_prob
    jump = rng.standard_normal(n_bars) * cfg.jump_scale * cond
    r = r + np.where(jump_on, jump, 0.0)

    log_close = np.log(cfg.start_price) + np.cumsum(r)
    log_open = np.concatenate([[np.log(cfg.start_price)], log_close[:-1]])
    u1 = rng.random(n_bars)
    u2 = rng.random(n_bars)
    var = cond**2
    up = 0.5 * (r + np.sqrt(r * r - 2.0 * var * np.log1p(-u1)))
    down = 0.5 * (r - np.sqrt(r * r - 2.0 * var * np.log1p(-u2)))
    open_ = np.exp(log_open)
    close = np.exp(log_close)
    high = np.maximum(np.exp(log_open + up), np.maximum(open_, close))
    low = np.minimum(np.exp(log_open + down), np.minimum(open_, close))

    activity = cond / max(np.mean(cond), 1e-300) if n_bars else cond
    noise = rng.lognormal(0.0, 0.5, size=n_bars)
    raw = activity * noise * (0.5 + 0.5 * np.abs(r) / np.maximum(cond, 1e-300))
    raw = raw / np.mean(raw) if n_bars else raw
    volume = np.round(cfg.base_volume * raw, 4)
    trades = 1 + rng.poisson(np.maximum(cfg.trades_per_bar * raw - 1.0, 0.0))
    volume = np.maximum(volume, 1e-4)

    bars = pd.DataFrame(
        {
            "timestamp": pd.Series(ts_ms.astype("datetime64[ms]")).dt.tz_localize("UTC").astype(TIMESTAMP_DTYPE),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
            "trades": trades.astype(np.int64),
            "source": pd.Series(np.full(n_bars, "synthetic", dtype=object), dtype=str),
        }
    )
    return SynthPath(bars=bars, regime=regime, direction=direction, sigma=cond)


def generate_bars(
    n_bars: int,
    cfg: SynthConfig,
    start: pd.Timestamp | None = None,
    interval_s: int = 60,
    seed: int | None = None,
) -> pd.DataFrame:
    """`n_bars` synthetic bars in the bar schema starting at `start` (default 2026-01-01 UTC).

    `seed` defaults to `cfg.seed`; the same config and seed give identical bars.
    """
    return simulate(n_bars, cfg, start=start, interval_s=interval_s, seed=seed).bars
