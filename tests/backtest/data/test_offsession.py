"""Synthetic XYZ100 bars follow the venue's off-session rules: quiet, held in the band, no edge, a gap at reopen."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest.config import with_overrides
from backtest.data.load import load_dataset
from backtest.data.offsession import (
    OffSessionParams,
    closed_mask,
    fill_closed_stretch,
    sigma_from_bars,
)
from backtest.data.schema import timestamps_ms, validate_bars
from backtest.data.synth import TREND, generate_bars, simulate
from backtest.venue.calendar import ALWAYS_OPEN, CME_EQUITY_INDEX, calendar_for

N = 14 * 1440  # two weeks: two weekends, eight daily breaks


def _ema_band_ok(bars: pd.DataFrame, closed: np.ndarray, params: OffSessionParams) -> bool:
    close = bars["close"].to_numpy()
    ema = np.empty_like(close)
    a = params.alpha(60)
    e = float(bars["open"].iloc[0])
    for t, c in enumerate(close):
        ema[t] = e  # the average before bar t is the band's middle
        e = e + a * (c - e)
    band = params.band_frac * (1 + 1e-9)
    inside = np.abs(close / ema - 1.0) <= band
    o = bars["open"].to_numpy()  # a bar's open (the close before it) may lie outside: the session just closed
    hi_in = bars["high"].to_numpy() <= np.maximum(ema * (1 + band), o)
    lo_in = bars["low"].to_numpy() >= np.minimum(ema * (1 - band), o)
    return bool((inside & hi_in & lo_in)[closed].all())


def test_closed_session_bars_are_quiet_held_in_the_band_and_valid(params):
    path = simulate(N, params.synth, calendar=CME_EQUITY_INDEX)
    bars, closed = path.bars, path.closed
    assert closed is not None and path.off_session is not None
    assert 0.25 < closed.mean() < 0.40  # weekend + daily breaks
    validate_bars(bars)
    r = np.log(bars["close"] / bars["open"]).to_numpy()
    assert r[closed].std() < 0.35 * r[~closed].std()
    assert _ema_band_ok(bars, closed, path.off_session)


def test_a_tight_band_binds_and_still_holds_every_close_and_extreme(params):
    p = with_overrides(params, ["synth.off_session.vol_multiplier=1.0", "synth.annual_vol=2.0"])
    tight = OffSessionParams(0.002, 3600.0, 1.0, 0.3, "test")
    path = simulate(N, p.synth, calendar=CME_EQUITY_INDEX)
    assert _ema_band_ok(path.bars, path.closed, path.off_session)  # the venue's 3.5 % band
    off = fill_closed_stretch(20000.0, np.arange(3000) * 60_000, 0.002, tight, np.random.default_rng(1))
    validate_bars(off)
    assert _ema_band_ok(off, np.ones(len(off), dtype=bool), tight)
    assert (np.abs(off["close"] / off["close"].expanding().mean() - 1) > 0.0015).any()  # it did bind


def test_no_planted_edge_outside_the_session(params):
    p = with_overrides(params, ["synth.edge.enabled=true", "synth.edge.strength=0.3"])
    path = simulate(200_000, p.synth, calendar=CME_EQUITY_INDEX)
    r = np.log(path.bars["close"] / path.bars["open"]).to_numpy()
    trend = path.regime == TREND
    pairs_open = trend[1:] & trend[:-1] & ~path.closed[1:] & ~path.closed[:-1]
    pairs_closed = trend[1:] & trend[:-1] & path.closed[1:] & path.closed[:-1]
    assert np.corrcoef(r[1:][pairs_open], r[:-1][pairs_open])[0, 1] > 0.2
    assert abs(np.corrcoef(r[1:][pairs_closed], r[:-1][pairs_closed])[0, 1]) < 0.05


def test_in_session_shocks_are_those_of_the_same_seed_without_the_mode(params):
    plain = simulate(N, params.synth)
    off = simulate(N, params.synth, calendar=CME_EQUITY_INDEX)
    r0 = np.log(plain.bars["close"] / plain.bars["open"]).to_numpy()
    r1 = np.log(off.bars["close"] / off.bars["open"]).to_numpy()
    closed = off.closed
    reopen = np.r_[False, closed[:-1] & ~closed[1:]]
    same = ~closed & ~reopen
    assert np.allclose(r0[same], r1[same], rtol=0, atol=1e-10)  # up to float rounding at another level
    assert np.abs(r1[reopen]).mean() > 3 * np.abs(r1[same]).mean()  # the session reopens with a gap


def test_the_switch_turns_the_mode_off_and_24_7_markets_never_use_it(params):
    base = generate_bars(N, params.synth)
    off = with_overrides(params, ["synth.off_session.enabled=false"])
    pd.testing.assert_frame_equal(base, generate_bars(N, off.synth, calendar=CME_EQUITY_INDEX))
    pd.testing.assert_frame_equal(base, generate_bars(N, params.synth, calendar=ALWAYS_OPEN))
    assert OffSessionParams.for_market(calendar_for("BTC"), params.synth.off_session) is None


def test_the_dataset_says_it_used_the_off_session_rules(tmp_params):
    ds = load_dataset(tmp_params, "synthetic", days=7)
    info = ds.provenance["off_session"]
    assert info["calendar"].startswith("CME") and info["band_frac"] == 0.035 and info["ema_seconds"] == 3600.0
    assert info["closed_share"] == pytest.approx(closed_mask(timestamps_ms(ds.bars), CME_EQUITY_INDEX).mean())
    off = load_dataset(with_overrides(tmp_params, ["synth.off_session.enabled=false"]), "synthetic", days=7)
    assert off.provenance["off_session"] is None


def test_a_closed_stretch_fills_from_the_last_close_with_calibrated_volatility(params):
    real = generate_bars(2000, params.synth, seed=5)
    sigma = sigma_from_bars(real)
    assert 0 < sigma < 0.01
    model = OffSessionParams.for_market(CME_EQUITY_INDEX, params.synth.off_session)
    start = int(pd.Timestamp("2026-03-06 17:00", tz="America/New_York").value // 1_000_000)
    ts = start + np.arange(48 * 60) * 60_000  # Friday 17:00 to Sunday 18:00 ET: 48 h (DST starts that Sunday)
    assert closed_mask(ts, CME_EQUITY_INDEX).all()
    last = float(real["close"].iloc[-1])
    bars = fill_closed_stretch(last, ts, sigma, model, np.random.default_rng(3), volume=50.0, trades=40.0)
    validate_bars(bars)
    assert bars["open"].iloc[0] == pytest.approx(last) and (bars["source"] == "synthetic").all()
    r = np.log(bars["close"] / bars["open"]).to_numpy()
    assert r.std() == pytest.approx(sigma * model.vol_multiplier, rel=0.15)
    with pytest.raises(ValueError):
        sigma_from_bars(real.iloc[:0])
