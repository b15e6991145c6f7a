from __future__ import annotations

import time

import numpy as np
import pandas as pd

from backtest.config import with_overrides
from backtest.data.schema import validate_bars
from backtest.data.synth import TREND, generate_bars, simulate


def _acf(x: np.ndarray, lag: int = 1) -> float:
    x = x - x.mean()
    return float(np.dot(x[lag:], x[:-lag]) / np.dot(x, x))


def _edge(params, enabled: bool, strength: float = 0.3):
    return with_overrides(params, [f"synth.edge.enabled={str(enabled).lower()}", f"synth.edge.strength={strength}"])


def test_same_seed_gives_identical_bars_and_other_seed_differs(params):
    a = generate_bars(5000, params.synth)
    b = generate_bars(5000, params.synth)
    pd.testing.assert_frame_equal(a, b)
    c = generate_bars(5000, params.synth, seed=params.synth.seed + 1)
    assert not np.allclose(a["close"], c["close"])


def test_180_days_of_minute_bars_are_valid_labelled_and_fast(params):
    generate_bars(100, params.synth)  # compile / load the numba cache
    t0 = time.perf_counter()
    bars = generate_bars(259_200, params.synth)
    elapsed = time.perf_counter() - t0
    assert len(bars) == 259_200 and elapsed < 1.0
    validate_bars(bars)
    assert (bars["source"] == "synthetic").all()
    assert bars["timestamp"].iloc[0] == pd.Timestamp("2026-01-01", tz="UTC")
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    assert np.allclose(bars["open"].to_numpy()[1:], bars["close"].to_numpy()[:-1])
    assert (bars["volume"] > 0).all() and (bars["trades"] >= 1).all()


def test_volatility_clusters_and_annual_vol_is_close_to_the_target(params):
    bars = generate_bars(100_000, params.synth)
    r = np.diff(np.log(bars["close"].to_numpy()))
    assert _acf(np.abs(r), 1) > 0.1 and _acf(np.abs(r), 30) > 0.05
    ann = r.std() * np.sqrt(365 * 1440)
    assert 0.6 * params.synth.annual_vol < ann < 1.6 * params.synth.annual_vol
    kurt = ((r - r.mean()) ** 4).mean() / r.var() ** 2
    assert kurt > 4  # fat tails


def test_edge_off_returns_have_no_lag1_autocorrelation(params):
    path = simulate(200_000, _edge(params, False).synth)
    r = np.log(path.bars["close"] / path.bars["open"]).to_numpy()
    assert abs(_acf(r)) < 0.02
    inside = (path.regime[1:] == TREND) & (path.regime[:-1] == TREND)
    assert abs(np.corrcoef(r[1:][inside], r[:-1][inside])[0, 1]) < 0.03


def test_edge_on_returns_are_autocorrelated_inside_trend_regimes(params):
    path = simulate(200_000, _edge(params, True, 0.3).synth)
    r = np.log(path.bars["close"] / path.bars["open"]).to_numpy()
    inside = (path.regime[1:] == TREND) & (path.regime[:-1] == TREND)
    rho = np.corrcoef(r[1:][inside], r[:-1][inside])[0, 1]
    assert rho > 0.2
    outside = (path.regime[1:] != TREND) & (path.regime[:-1] != TREND)
    assert abs(np.corrcoef(r[1:][outside], r[:-1][outside])[0, 1]) < 0.03


def test_edge_strength_is_tunable(params):
    rhos = []
    for s in (0.1, 0.5):
        path = simulate(100_000, _edge(params, True, s).synth)
        r = np.log(path.bars["close"] / path.bars["open"]).to_numpy()
        inside = (path.regime[1:] == TREND) & (path.regime[:-1] == TREND)
        rhos.append(np.corrcoef(r[1:][inside], r[:-1][inside])[0, 1])
    assert rhos[1] > rhos[0] + 0.25


def test_all_three_regimes_occur(params):
    path = simulate(259_200, params.synth)
    shares = np.bincount(path.regime, minlength=3) / len(path.regime)
    assert (shares > 0.1).all()


def test_intraday_seasonality_raises_volatility_near_the_us_open(params):
    bars = generate_bars(60 * 1440, params.synth)
    r = np.abs(np.log(bars["close"] / bars["open"]).to_numpy())
    hour = bars["timestamp"].dt.hour.to_numpy()
    assert r[hour == 14].mean() > 1.2 * r[hour == 2].mean()


def _bars_digest(bars: pd.DataFrame) -> str:
    import hashlib

    values = np.ascontiguousarray(bars[["open", "high", "low", "close", "volume"]].to_numpy())
    return hashlib.sha256(values.tobytes() + bars["trades"].to_numpy().tobytes()).hexdigest()[:16]


def test_exposing_the_planted_signal_left_the_bars_of_every_seed_unchanged(params):
    # digests of 20,000 bars computed with the generator before the signal was exposed (README figures depend on them)
    assert _bars_digest(generate_bars(20_000, _edge(params, False).synth)) == "f97f61c1ee106ada"
    assert _bars_digest(generate_bars(20_000, _edge(params, True).synth)) == "647510330308163a"


def test_planted_signal_is_labelled_deterministic_and_known_at_each_close(params):
    from backtest.data.synth import planted_signal

    cfg = with_overrides(params, ["synth.edge.enabled=true", "synth.trend_drift_bps=2.0"]).synth
    path = simulate(30_000, cfg)
    sig = path.signal()
    pd.testing.assert_frame_equal(sig, planted_signal(30_000, cfg))
    assert list(sig.columns) == ["timestamp", "regime", "direction", "ar", "expected_next_bps", "target"]
    assert (sig["timestamp"] == path.bars["timestamp"]).all()
    trend = path.regime == TREND
    np.testing.assert_array_equal(sig["target"].to_numpy()[trend], path.direction[trend])
    assert (sig["target"].to_numpy()[~trend] == 0).all()
    # the AR component is the return minus drift, away from jumps: r_t = mu_t + u_t (+ jump_t)
    r = np.diff(np.log(path.bars["close"].to_numpy()), prepend=np.log(cfg.start_price))
    resid = r - path.drift - path.ar
    assert np.mean(np.abs(resid) < 1e-12) > 0.99
    expected = (path.drift + path.phi * path.ar) * 1e4
    np.testing.assert_allclose(sig["expected_next_bps"], expected)


def test_edge_off_plants_no_signal(params):
    path = simulate(20_000, _edge(params, False).synth)
    sig = path.signal()
    assert (sig["target"] == 0).all() and (sig["expected_next_bps"] == 0).all()


def test_planted_signal_is_flat_while_the_market_is_closed(params):
    from backtest.data.synth import planted_signal
    from backtest.venue.calendar import calendar_for

    cfg = with_overrides(params, ["synth.edge.enabled=true", "synth.trend_drift_bps=2.0"]).synth
    calendar = calendar_for("xyz:XYZ100")
    path = simulate(20_000, cfg, calendar=calendar)
    sig = path.signal()
    pd.testing.assert_frame_equal(sig, planted_signal(20_000, cfg, calendar=calendar))
    assert path.closed is not None and path.closed.any() and (~path.closed).any()
    assert (sig["target"].to_numpy()[path.closed] == 0).all()
    assert (sig["expected_next_bps"].to_numpy()[path.closed] == 0).all()
    trend_open = (path.regime == TREND) & ~path.closed
    np.testing.assert_array_equal(sig["target"].to_numpy()[trend_open], path.direction[trend_open])
