from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest.config import with_overrides
from backtest.data.load import load_dataset
from backtest.data.schema import DataError, timestamps_ms, validate_bars
from backtest.data.store import BarStore
from backtest.data.synth import generate_bars


def _store_real(params, n_bars: int, end: str = "2026-03-10") -> pd.DataFrame:
    start = pd.Timestamp(end, tz="UTC") - pd.Timedelta(minutes=n_bars)
    real = generate_bars(n_bars, params.synth, start=start, seed=99)
    real["source"] = "hyperliquid"
    BarStore(params.backtest.data_dir).append(real, params.market.coin, "1m")
    return real


def test_synthetic_dataset_is_deterministic_and_labelled(tmp_params):
    a = load_dataset(tmp_params, "synthetic", days=2)
    b = load_dataset(tmp_params, "synthetic", days=2)
    pd.testing.assert_frame_equal(a.bars, b.bars)
    assert len(a.bars) == 2880
    p = a.provenance
    assert p["source"] == "synthetic" and p["share_real"] == 0.0 and p["counts"] == {"synthetic": 2880}
    assert p["seed"] == tmp_params.synth.seed and p["coin"] == tmp_params.market.coin and p["interval"] == "1m"
    assert p["start"].startswith("2026-01-01") and p["edge"]["enabled"] is False


def test_synthetic_dataset_follows_the_configured_interval(tmp_params):
    p5 = with_overrides(tmp_params, ["backtest.interval=5m"])
    d = load_dataset(p5, "synthetic", days=1)
    assert len(d.bars) == 288
    assert (np.diff(timestamps_ms(d.bars)) == 300_000).all()


def test_real_dataset_without_stored_bars_says_what_is_missing_and_how_to_get_it(tmp_params):
    with pytest.raises(DataError) as err:
        load_dataset(tmp_params, "real", days=3)
    msg = str(err.value)
    assert "no real 1m bars" in msg and "python -m backtest.data record" in msg and "--data hybrid" in msg


def test_real_dataset_shorter_than_requested_names_both_spans(tmp_params):
    _store_real(tmp_params, 1440)
    with pytest.raises(DataError) as err:
        load_dataset(tmp_params, "real", days=3)
    msg = str(err.value)
    assert "requested 3 days" in msg and "2026-03-09" in msg and "2026-03-07" in msg and "record" in msg


def test_real_dataset_returns_the_most_recent_days(tmp_params):
    real = _store_real(tmp_params, 3 * 1440)
    d = load_dataset(tmp_params, "real", days=2)
    assert len(d.bars) == 2880 and d.provenance["share_real"] == 1.0
    assert d.bars["timestamp"].iloc[-1] == real["timestamp"].iloc[-1]
    assert d.provenance["counts"] == {"hyperliquid": 2880} and d.provenance["edge"] is None


def test_hybrid_labels_share_and_seam_continuity(tmp_params):
    real = _store_real(tmp_params, 1440)
    d = load_dataset(tmp_params, "hybrid", days=3)
    bars = validate_bars(d.bars)
    assert len(bars) == 3 * 1440
    assert d.provenance["counts"] == {"synthetic": 2880, "hyperliquid": 1440}
    assert d.provenance["share_real"] == pytest.approx(1 / 3)
    assert (bars["source"].iloc[:2880] == "synthetic").all() and (bars["source"].iloc[2880:] == "hyperliquid").all()
    seam_close, seam_open = bars["close"].iloc[2879], bars["open"].iloc[2880]
    assert seam_close == pytest.approx(seam_open, rel=1e-12)
    assert seam_open == real["open"].iloc[0]
    assert (np.diff(timestamps_ms(bars)) == 60_000).all()


def test_hybrid_real_weight_moves_the_synthetic_volatility(tmp_params):
    _store_real(with_overrides(tmp_params, ["synth.annual_vol=1.0"]), 1440)
    vols = []
    for w in (0.0, 1.0):
        d = load_dataset(with_overrides(tmp_params, [f"backtest.real_weight={w}"]), "hybrid", days=5)
        vols.append(d.provenance["synth_config"]["annual_vol"])
    assert vols[0] == tmp_params.synth.annual_vol and vols[1] > 2 * vols[0]


def test_hybrid_without_real_bars_fails_with_a_helpful_message(tmp_params):
    with pytest.raises(DataError, match=r"python -m backtest\.data fetch"):
        load_dataset(tmp_params, "hybrid", days=3)
