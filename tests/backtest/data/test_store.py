from __future__ import annotations

import os

import pandas as pd
import pyarrow.parquet as pq
import pytest

from backtest.data import store as store_mod
from backtest.data.schema import DataError
from backtest.data.store import BarStore

COIN, IV = "xyz:XYZ100", "1m"


def _real(bars: pd.DataFrame, source: str = "hyperliquid") -> pd.DataFrame:
    out = bars.copy()
    out["source"] = source
    return out


def test_round_trip_preserves_bars_and_dtypes(tmp_path, small_bars):
    st = BarStore(tmp_path)
    written = st.append(_real(small_bars), COIN, IV)
    assert len(written) == 3  # three UTC days
    back = st.read(COIN, IV, "real")
    pd.testing.assert_frame_equal(back, _real(small_bars))
    assert st.last_timestamp(COIN, IV) == small_bars["timestamp"].iloc[-1]


def test_append_never_rewrites_older_partitions(tmp_path, small_bars):
    st = BarStore(tmp_path)
    st.append(_real(small_bars.iloc[:2880]), COIN, IV)
    first_day = st.partitions(COIN, IV, "real")[0]
    before = (first_day.stat().st_mtime_ns, first_day.stat().st_ino)
    written = st.append(_real(small_bars.iloc[2880:]), COIN, IV)
    assert first_day not in written
    assert (first_day.stat().st_mtime_ns, first_day.stat().st_ino) == before
    assert len(st.read(COIN, IV)) == len(small_bars)


def test_duplicates_are_merged_by_timestamp(tmp_path, small_bars):
    st = BarStore(tmp_path)
    st.append(_real(small_bars.iloc[:100]), COIN, IV)
    again = _real(small_bars.iloc[50:150], "recorded")
    st.append(again, COIN, IV)
    back = st.read(COIN, IV)
    assert len(back) == 150 and back["timestamp"].is_unique
    assert (back["source"].iloc[50:] == "recorded").all() and (back["source"].iloc[:50] == "hyperliquid").all()


def test_crash_mid_write_leaves_old_data_intact(tmp_path, small_bars, monkeypatch):
    st = BarStore(tmp_path)
    st.append(_real(small_bars.iloc[:100]), COIN, IV)
    path = st.partitions(COIN, IV, "real")[0]
    original = path.read_bytes()

    def crash(table, where, **kw):
        with open(where, "wb") as fh:
            fh.write(b"PAR1 half a file")
        raise OSError("disk died mid-write")

    monkeypatch.setattr(store_mod.pq, "write_table", crash)
    with pytest.raises(OSError, match="mid-write"):
        st.append(_real(small_bars.iloc[100:200]), COIN, IV)
    monkeypatch.undo()
    assert path.read_bytes() == original
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind
    assert len(st.read(COIN, IV)) == 100


def test_real_and_synthetic_live_in_separate_namespaces(tmp_path, small_bars):
    st = BarStore(tmp_path)
    st.append(small_bars.iloc[:10], COIN, IV)
    st.append(_real(small_bars.iloc[:10]), COIN, IV)
    assert (st.read(COIN, IV, "synthetic")["source"] == "synthetic").all()
    assert (st.read(COIN, IV, "real")["source"] == "hyperliquid").all()
    mixed = pd.concat([small_bars.iloc[10:12], _real(small_bars.iloc[12:14])], ignore_index=True)
    with pytest.raises(DataError, match="mix real and synthetic"):
        st.append(mixed, COIN, IV)


def test_a_corrupt_partition_raises_data_error_naming_the_file_and_row(tmp_path, small_bars):
    st = BarStore(tmp_path)
    st.append(_real(small_bars.iloc[:50]), COIN, IV)
    path = st.partitions(COIN, IV, "real")[0]
    df = pq.read_table(path).to_pandas()
    df.loc[7, "low"] = df.loc[7, "high"] * 2
    tmp = str(path) + ".x"
    df.to_parquet(tmp)
    os.replace(tmp, path)
    with pytest.raises(DataError) as err:
        st.read(COIN, IV)
    assert str(path) in str(err.value) and "row 7" in str(err.value)


def test_read_filters_by_time(tmp_path, small_bars):
    st = BarStore(tmp_path)
    st.append(_real(small_bars), COIN, IV)
    start, end = small_bars["timestamp"].iloc[1000], small_bars["timestamp"].iloc[3000]
    part = st.read(COIN, IV, start=start, end=end)
    assert len(part) == 2000 and part["timestamp"].iloc[0] == start
