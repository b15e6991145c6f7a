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


def _rewrite(path, df):
    tmp = str(path) + ".x"
    df.to_parquet(tmp)
    os.replace(tmp, path)


def test_rows_filed_under_the_wrong_day_are_refused_not_dropped(tmp_path, small_bars):
    st = BarStore(tmp_path)
    st.append(_real(small_bars), COIN, IV)
    first, second = st.partitions(COIN, IV, "real")[:2]
    both = pd.concat([pq.read_table(first).to_pandas(), pq.read_table(second).to_pandas()], ignore_index=True)
    _rewrite(first, both)  # day 2's rows copied into day 1's file
    second.unlink()
    with pytest.raises(DataError) as err:
        st.read(COIN, IV, start=small_bars["timestamp"].iloc[0], end=small_bars["timestamp"].iloc[-1])
    msg = str(err.value)
    assert str(first) in msg and "1440 of 2880 rows are not from" in msg and "misfiled" in msg


def test_synthetic_rows_under_real_are_refused_never_called_real(tmp_path, small_bars, tmp_params):
    from backtest.data.load import data_root, load_dataset

    st = BarStore(data_root(tmp_params))
    st.append(_real(small_bars), COIN, IV)
    path = st.partitions(COIN, IV, "real")[-1]
    df = pq.read_table(path).to_pandas()
    df.loc[5:, "source"] = "synthetic"
    _rewrite(path, df)
    with pytest.raises(DataError, match=r"source='synthetic'.*'real' namespace"):
        load_dataset(tmp_params, "real", days=1)


def test_an_interrupted_multi_day_append_is_reported_until_it_is_completed(tmp_path, small_bars, monkeypatch):
    st = BarStore(tmp_path)
    real = store_mod._commit
    calls = {"n": 0}

    def die_after_two(tmp, path):
        if calls["n"] == 2:
            raise KeyboardInterrupt  # stands in for a kill: nothing after this line runs
        calls["n"] += 1
        real(tmp, path)

    monkeypatch.setattr(store_mod, "_commit", die_after_two)
    with pytest.raises(KeyboardInterrupt):
        st.append(small_bars, COIN, IV)  # three synthetic days
    monkeypatch.undo()
    assert len(st.partitions(COIN, IV, "synthetic")) == 2
    for call in (lambda: st.read(COIN, IV, "synthetic"), lambda: st.last_timestamp(COIN, IV, "synthetic")):
        with pytest.raises(DataError, match=r"incomplete.*1 day file\(s\) were never written \(2026-02-03"):
            call()
    st.append(small_bars, COIN, IV)  # rerunning the write completes the span
    assert len(st.read(COIN, IV, "synthetic")) == len(small_bars)
    assert not (st.folder(COIN, IV, "synthetic") / store_mod.MARKER).exists()


def test_a_killed_synth_command_leaves_a_store_that_says_it_is_incomplete(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from backtest.data.__main__ import main

    proc = subprocess.Popen(
        [sys.executable, "-m", "backtest.data", "synth", "--days", "60", "--data-dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    folder = BarStore(tmp_path).folder(COIN, IV, "synthetic")
    deadline = time.time() + 60
    while time.time() < deadline and len(list(folder.glob("day=*"))) < 5:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    written = len(list(folder.glob("day=*")))
    assert 5 <= written < 60, written
    assert main(["inspect", "--namespace", "synthetic", "--data-dir", str(tmp_path)]) == 2


def test_proxy_bars_live_in_their_own_namespace_and_never_mix_with_real(tmp_path, small_bars):
    st = BarStore(tmp_path)
    st.append(_real(small_bars, "proxy"), COIN, IV)
    assert len(st.read(COIN, IV, "proxy")) == len(small_bars)
    assert len(st.read(COIN, IV, "real")) == 0
    mixed = pd.concat([_real(small_bars.iloc[:10], "proxy"), _real(small_bars.iloc[10:20])], ignore_index=True)
    with pytest.raises(DataError, match="mix proxy and real"):
        st.append(mixed, COIN, IV)


def test_proxy_rows_under_real_are_refused_by_the_fast_read_naming_the_file(tmp_path, small_bars):
    st = BarStore(tmp_path)
    st.append(_real(small_bars), COIN, IV)
    path = st.partitions(COIN, IV, "real")[1]
    df = pq.read_table(path).to_pandas()
    df.loc[3:, "source"] = "proxy"
    _rewrite(path, df)
    with pytest.raises(DataError, match=f"{path.name}.*source='proxy'.*'real' namespace"):
        st.read(COIN, IV, "real")


def test_a_bad_row_in_one_of_many_files_is_named_with_its_file(tmp_path, small_bars):
    st = BarStore(tmp_path)
    st.append(_real(small_bars), COIN, IV)
    path = st.partitions(COIN, IV, "real")[2]
    df = pq.read_table(path).to_pandas()
    df.loc[7, "high"] = df.loc[7, "low"] * 0.5
    _rewrite(path, df)
    with pytest.raises(DataError, match=f"{path.name}: invalid bars.*row 7 .*high"):
        st.read(COIN, IV, "real")
