"""--data proxy (real + proxy bars, gaps left as gaps) and --data hybrid (real, then proxy, then labelled synthetic)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest.data.load import load_dataset
from backtest.data.schema import DataError, timestamps_ms, validate_bars
from backtest.data.store import BarStore
from backtest.data.vendor.importer import ImportOptions, import_files
from backtest.data.vendor.samples import session_bars, write_sample
from backtest.venue.calendar import calendar_for

START, DAYS = "2024-05-06", 12  # Monday; the last bar is Friday 2024-05-17 20:59 UTC (Friday's close)


@pytest.fixture
def proxy_params(tmp_params, tmp_path):
    write_sample(tmp_path / "nq.csv", "firstrate", START, DAYS)
    opts = ImportOptions(tmp_params.market.coin, "1m")
    import_files([str(tmp_path / "nq.csv")], BarStore(tmp_params.backtest.data_dir), opts)
    return tmp_params


def _real_tail(params, n: int) -> pd.DataFrame:
    """The last `n` session bars of the sample as real HyperLiquid bars (0.1 % above the proxy's level)."""
    spot = session_bars(START, DAYS).iloc[-n:]
    real = pd.DataFrame({"timestamp": spot["ts"], **{c: spot[c] * 1.001 for c in ("open", "high", "low", "close")},
                         "volume": 1.0, "trades": 3, "source": "recorded"})  # fmt: skip
    BarStore(params.backtest.data_dir).append(real, params.market.coin, "1m")
    return real


def test_proxy_data_keeps_closed_sessions_as_labelled_gaps_and_invents_no_bar(proxy_params):
    d = load_dataset(proxy_params, "proxy", days=5)
    p = d.provenance
    assert set(d.bars["source"]) == {"proxy"} and p["share_proxy"] == 1.0 and p["share_synthetic"] == 0.0
    assert p["gap_labels"]["daily_break"]["gaps"] == 4 and p["gap_labels"]["daily_break"]["missing_bars"] == 240
    assert calendar_for(proxy_params.market.coin).is_open(timestamps_ms(d.bars)).all()
    assert p["proxy"]["symbol"] == "NQ" and p["proxy"]["transform"]["kind"] == "futures" and p["seed"] is None


def test_real_bars_come_first_and_the_shares_say_so(proxy_params):
    real = _real_tail(proxy_params, 600)
    d = load_dataset(proxy_params, "proxy", days=5)
    tail = d.bars.iloc[-600:]
    assert (tail["source"] == "recorded").all() and tail["close"].to_numpy() == pytest.approx(real["close"].to_numpy())
    assert d.bars["timestamp"].is_unique
    assert d.provenance["share_real"] == pytest.approx(600 / len(d.bars))
    assert d.provenance["share_real"] + d.provenance["share_proxy"] == pytest.approx(1.0)


def test_real_data_never_loads_proxy_bars_and_says_what_is_missing(proxy_params):
    with pytest.raises(DataError, match=r"no real 1m bars.*backtest.data import FILE.*--data proxy"):
        load_dataset(proxy_params, "real", days=3)


def test_proxy_data_shorter_than_asked_names_the_missing_session_hours(proxy_params):
    with pytest.raises(DataError, match=r"real and proxy data cover too little: requested 30 days.*session hours"):
        load_dataset(proxy_params, "proxy", days=30)
    load_dataset(proxy_params, "proxy", days=11.8)  # the span's head is the first bar's day: nothing missing


def test_hybrid_is_gapless_real_then_proxy_then_labelled_synthetic(proxy_params):
    _real_tail(proxy_params, 300)
    d = load_dataset(proxy_params, "hybrid", days=14)
    bars = validate_bars(d.bars)
    assert (np.diff(timestamps_ms(bars)) == 60_000).all() and len(bars) == 14 * 1440
    p = d.provenance
    counts = p["counts"]
    assert counts["recorded"] == 300 and counts["proxy"] == len(session_bars(START, DAYS)) - 300
    assert counts["synthetic"] == 14 * 1440 - counts["recorded"] - counts["proxy"]
    assert p["share_real"] + p["share_proxy"] + p["share_synthetic"] == pytest.approx(1.0)
    closed = ~calendar_for(proxy_params.market.coin).is_open(timestamps_ms(bars))
    assert (bars["source"][closed] == "synthetic").all()  # every closed-session bar is the labelled fill
    assert p["fill"]["closed_bars"] + p["fill"]["prefix_bars"] == counts["synthetic"]


def test_the_closed_session_fill_is_quiet_held_in_the_band_and_starts_at_the_last_real_close(proxy_params):
    d = load_dataset(proxy_params, "hybrid", days=12)
    bars, src = d.bars, d.bars["source"].to_numpy()
    starts = np.flatnonzero((src[1:] == "synthetic") & (src[:-1] == "proxy")) + 1
    for i in starts:
        assert bars["open"].iloc[i] == pytest.approx(bars["close"].iloc[i - 1], rel=1e-12)  # from the bar before
    r = np.log(bars["close"] / bars["open"]).to_numpy()
    assert r[src == "synthetic"].std() < 0.5 * r[src == "proxy"].std()
    weekend = bars[(src == "synthetic") & (bars["timestamp"].dt.dayofweek == 5).to_numpy()]
    anchor = bars["close"].iloc[starts[0] - 1]
    assert (weekend["high"] <= anchor * 1.07).all() and (weekend["low"] >= anchor * 0.93).all()


def test_the_fill_is_seeded_and_does_not_peek_at_the_reopening(proxy_params, tmp_path):
    a = load_dataset(proxy_params, "hybrid", days=12).bars
    b = load_dataset(proxy_params, "hybrid", days=12).bars
    pd.testing.assert_frame_equal(a, b)
    # move every bar after the first weekend: the weekend fill (built from the bars before it) stays the same
    store = BarStore(proxy_params.backtest.data_dir)
    folder = store.folder(proxy_params.market.coin, "1m", "proxy")
    proxy = store.read(proxy_params.market.coin, "1m", "proxy")
    later = proxy["timestamp"] >= pd.Timestamp("2024-05-12", tz="UTC")
    for col in ("open", "high", "low", "close"):
        proxy.loc[later, col] *= 1.05
    for f in folder.glob("day=*.parquet"):
        f.unlink()
    store.append(proxy, proxy_params.market.coin, "1m")
    c = load_dataset(proxy_params, "hybrid", days=12).bars
    weekend = (a["timestamp"] >= pd.Timestamp("2024-05-10 21:00", tz="UTC")) & (
        a["timestamp"] < pd.Timestamp("2024-05-12 22:00", tz="UTC"))  # fmt: skip
    pd.testing.assert_frame_equal(a[weekend], c[weekend])
