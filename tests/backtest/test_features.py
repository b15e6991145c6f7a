from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ta.momentum import RSIIndicator
from ta.trend import MACD
from ta.volatility import AverageTrueRange

from backtest.data.synth import generate_bars
from backtest.features import (
    FEATURE_NAMES,
    SESSION_HORIZON_H,
    NormStats,
    atr,
    compute_features,
    feature_columns,
    fit_norm,
    macd,
    rsi,
)

N = 600


@pytest.fixture(scope="module")
def bars(params) -> pd.DataFrame:
    return generate_bars(N, params.synth, seed=3)


def _perturb(bars: pd.DataFrame, t: int, seed: int) -> pd.DataFrame:
    """Replace every bar after t with different, still valid values."""
    rng = np.random.default_rng(seed)
    out = bars.copy()
    k = len(out) - t - 1
    if k <= 0:
        return out
    mult = np.exp(rng.normal(0, 0.01, size=k))
    for col in ("open", "high", "low", "close"):
        out.loc[t + 1 :, col] = out.loc[t + 1 :, col].to_numpy() * mult
    out.loc[t + 1 :, "high"] = out.loc[t + 1 :, "high"].to_numpy() * 1.001
    out.loc[t + 1 :, "volume"] = rng.uniform(0.1, 500, size=k)
    out.loc[t + 1 :, "trades"] = rng.integers(1, 100, size=k)
    return out


@settings(max_examples=25, deadline=None)
@given(t=st.integers(min_value=0, max_value=N - 2), seed=st.integers(min_value=0, max_value=2**31))
def test_changing_bars_after_t_leaves_every_feature_at_or_before_t_unchanged(params, bars, t, seed):
    base = compute_features(bars, params.trading, params.market.coin)
    changed = compute_features(_perturb(bars, t, seed), params.trading, params.market.coin)
    np.testing.assert_array_equal(base[: t + 1], changed[: t + 1])
    assert not np.array_equal(base[t + 1 :], changed[t + 1 :])


def test_features_are_float32_finite_and_named(params, bars):
    f = compute_features(bars, params.trading)
    assert f.dtype == np.float32 and f.shape == (N, len(FEATURE_NAMES))
    assert np.isfinite(f).all()
    assert (f[0, : FEATURE_NAMES.index("volume_z")] == 0).all()  # warm-up rows are 0, not NaN
    rsi_col = f[:, FEATURE_NAMES.index("rsi")]
    assert (np.abs(rsi_col) <= 1).all()


def _at(params, text: str, n: int = 1) -> np.ndarray:
    start = pd.Timestamp(text, tz="America/New_York").tz_convert("UTC")
    return compute_features(generate_bars(n, params.synth, start=start), params.trading, "xyz:XYZ100")


def test_session_features_follow_the_markets_calendar(params):
    col_open, col_to = FEATURE_NAMES.index("session_open"), FEATURE_NAMES.index("session_to_change")
    monday = _at(params, "2026-03-09 10:00")[0]
    assert monday[col_open] == 1 and monday[col_to] == pytest.approx(7 / SESSION_HORIZON_H)  # closes 17:00 ET
    saturday = _at(params, "2026-03-07 12:00")[0]  # the weekend reopens Sunday 18:00 ET (30 h; 29 h after DST)
    assert saturday[col_open] == 0 and saturday[col_to] == pytest.approx(29 / SESSION_HORIZON_H)
    brk = _at(params, "2026-03-10 17:30")[0]
    assert brk[col_open] == 0 and brk[col_to] == pytest.approx(0.5 / SESSION_HORIZON_H)
    friday = _at(params, "2026-03-06 16:59", n=3)
    assert friday[:, col_open].tolist() == [1, 0, 0]
    assert friday[0, col_to] == pytest.approx(1 / 60 / SESSION_HORIZON_H)
    btc = compute_features(generate_bars(50, params.synth), params.trading, "BTC")
    assert (btc[:, col_open] == 1).all() and (btc[:, col_to] == 1).all()  # 24/7: always open, no change ahead
    assert (compute_features(generate_bars(50, params.synth), params.trading)[:, col_open] == 1).all()


def test_rsi_matches_ta_after_warm_up(bars):
    close = bars["close"]
    ours = rsi(close.to_numpy(), 14)
    ref = RSIIndicator(close, window=14).rsi().to_numpy()
    assert np.isnan(ours[:14]).all() and not np.isnan(ours[14:]).any()
    np.testing.assert_allclose(ours[300:], ref[300:], atol=1e-6)


def test_macd_matches_ta(bars):
    close = bars["close"]
    line, sig, hist = macd(close.to_numpy(), 12, 26, 9)
    ref = MACD(close, window_slow=26, window_fast=12, window_sign=9)
    np.testing.assert_allclose(line[25:], ref.macd().to_numpy()[25:], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(sig[33:], ref.macd_signal().to_numpy()[33:], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(hist[33:], ref.macd_diff().to_numpy()[33:], rtol=1e-9, atol=1e-9)
    assert np.isnan(hist[:33]).all()


def test_atr_matches_ta(bars):
    h, lo, c = bars["high"], bars["low"], bars["close"]
    ours = atr(h.to_numpy(), lo.to_numpy(), c.to_numpy(), 14)
    ref = AverageTrueRange(h, lo, c, window=14).average_true_range().to_numpy()
    np.testing.assert_allclose(ours[13:], ref[13:], rtol=1e-10)


def test_norm_stats_come_from_the_training_span_and_round_trip(params, bars):
    f = compute_features(bars, params.trading)
    stats = fit_norm(f[:300])
    z = stats.apply(f[:300])
    assert z.dtype == np.float32
    varying = f[:300].std(axis=0) > 0
    np.testing.assert_allclose(z.mean(axis=0)[varying], 0, atol=1e-3)
    again = NormStats.from_dict(stats.to_dict())
    np.testing.assert_array_equal(again.apply(f), stats.apply(f))
    assert again.names == FEATURE_NAMES
    assert np.abs(stats.apply(f * 1e6)).max() <= 10


def test_259200_bars_in_well_under_a_second(params):
    big = generate_bars(259_200, params.synth)
    compute_features(big.iloc[:100], params.trading)
    t0 = time.perf_counter()
    f = compute_features(big, params.trading)
    assert time.perf_counter() - t0 < 1.0 and f.shape == (259_200, len(FEATURE_NAMES))


def test_normalisation_is_bit_identical_to_the_numpy_formula():
    """The compiled `NormStats.apply` computes element by element what the env was trained with."""
    from backtest.features import NORM_CLIP, fit_norm

    rng = np.random.default_rng(3)
    x = (rng.normal(size=(2000, 6)) * 5).astype(np.float32)
    x[rng.random(x.shape) < 0.02] = np.nan
    x[0, 0], x[1, 1], x[2, 2] = np.inf, -np.inf, 1e30
    norm = fit_norm(np.nan_to_num(x[100:], nan=0.0, posinf=0.0, neginf=0.0), names=tuple("abcdef"))
    norm.std[3] = 0.0  # a degenerate column: division by zero as numpy does it
    with np.errstate(all="ignore"):
        z = (x.astype(np.float64) - norm.mean) / norm.std
        want = np.clip(np.nan_to_num(z, nan=0.0, posinf=NORM_CLIP, neginf=-NORM_CLIP), -NORM_CLIP, NORM_CLIP)
    got = norm.apply(x)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got.view(np.int32), want.astype(np.float32).view(np.int32))
    np.testing.assert_array_equal(norm.apply(x[5]), got[5])


def test_a_policy_trained_on_fewer_features_reads_its_own_columns_and_unknown_ones_are_refused():
    old = list(FEATURE_NAMES[:-2])  # a checkpoint from before the session features
    assert feature_columns(old).tolist() == list(range(len(old)))
    assert feature_columns(["atr", "rsi"]).tolist() == [FEATURE_NAMES.index("atr"), FEATURE_NAMES.index("rsi")]
    with pytest.raises(ValueError, match="does not compute: \\['moon_phase'\\]"):
        feature_columns([*old, "moon_phase"], "ppo-2026")
