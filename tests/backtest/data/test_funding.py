"""Funding history from local copies of HyperLiquid's archive (asset_ctxs CSV), charged by the simulator."""

from __future__ import annotations

import lz4.frame
import numpy as np
import pandas as pd
import pytest

from backtest.data.funding import import_funding
from backtest.data.load import load_dataset
from backtest.data.schema import DataError
from backtest.data.store import BarStore
from backtest.data.synth import generate_bars
from backtest.sim import Market

COIN = "xyz:XYZ100"
HEADER = (
    "time,coin,funding,open_interest,prev_day_px,day_ntl_vlm,premium,oracle_px,mark_px,mid_px,impact_bid_px,"
    "impact_ask_px"
)


def _archive(path, start: str, hours: int, rate) -> None:
    rows = [HEADER]
    t0 = pd.Timestamp(start, tz="UTC")
    for h in range(hours):
        for minute in (0, 30, 59):  # three snapshots an hour: the last one before the boundary is the rate paid
            t = t0 + pd.Timedelta(hours=h, minutes=minute)
            r = rate(h) if minute == 59 else 0.5
            rows.append(f"{t:%Y-%m-%dT%H:%M:%SZ},{COIN},{r},100,1,1,0,20000,20001,20000,1,1")
            rows.append(f"{t:%Y-%m-%dT%H:%M:%SZ},BTC,0.9,1,1,1,0,1,1,1,1,1")
    path.write_bytes(lz4.frame.compress(("\n".join(rows) + "\n").encode()))


def test_archive_rates_are_stored_hourly_and_charged_at_the_hour_they_are_paid(tmp_params, tmp_path):
    root = BarStore(tmp_params.backtest.data_dir).root
    _archive(tmp_path / "20260301.csv.lz4", "2026-03-01", 24, lambda h: 1e-5 * (h + 1))
    stored, _ = import_funding([tmp_path / "20260301.csv.lz4"], root, COIN)
    assert len(stored) == 24 and stored["funding"].iloc[0] == pytest.approx(1e-5)  # paid at 01:00
    assert stored["hour"].iloc[0] == pd.Timestamp("2026-03-01 01:00", tz="UTC").value // 1_000_000
    real = generate_bars(2 * 1440, tmp_params.synth, start=pd.Timestamp("2026-03-01", tz="UTC"))
    real["source"] = "hyperliquid"
    BarStore(root).append(real, COIN, "1m")
    ds = load_dataset(tmp_params, "real", days=2)
    assert ds.provenance["funding"]["hours"] == 24 and ds.provenance["funding"]["coverage"] == pytest.approx(0.5)
    market = Market.from_bars(ds.bars, tmp_params, ds.funding_hourly)
    at = np.flatnonzero(market.ts == pd.Timestamp("2026-03-01 05:00", tz="UTC").value // 1_000_000)[0]
    assert market.funding[at] == pytest.approx(5e-5)
    later = np.flatnonzero(market.ts == pd.Timestamp("2026-03-02 05:00", tz="UTC").value // 1_000_000)[0]
    assert market.funding[later] == tmp_params.backtest.funding_rate_hourly  # not covered: the constant
    again, _ = import_funding([tmp_path / "20260301.csv.lz4"], root, COIN)  # merged by hour: nothing doubles
    assert len(again) == 24


def test_a_bad_archive_row_is_named_and_a_file_without_the_coin_is_refused(tmp_params, tmp_path):
    root = BarStore(tmp_params.backtest.data_dir).root
    (tmp_path / "bad.csv").write_text(f"{HEADER}\n2026-03-01T00:00:00Z,{COIN},x,1,1,1,0,1,1,1,1,1\n")
    with pytest.raises(
        DataError, match=r"bad.csv: 1 xyz:XYZ100 row\(s\) with an unparsable time or funding \(line 2\)"
    ):
        import_funding([tmp_path / "bad.csv"], root, COIN)
    (tmp_path / "btc.csv").write_text(f"{HEADER}\n2026-03-01T00:00:00Z,BTC,0.1,1,1,1,0,1,1,1,1,1\n")
    with pytest.raises(DataError, match="no rows for 'xyz:XYZ100'"):
        import_funding([tmp_path / "btc.csv"], root, COIN)
