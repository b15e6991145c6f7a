"""Each vendor layout imports to the same UTC bar-open bars; the timezone traps (DST, the 17:00 ET break, the Sunday
open, close-stamped bars, a wrong zone) are caught or handled."""

from __future__ import annotations

import gzip
import zipfile

import numpy as np
import pandas as pd
import pytest

from backtest.data.schema import DataError, timestamps_ms
from backtest.data.vendor.samples import session_bars, write_sample
from tests.support.vendor import COIN, IV, lines_of, run_import, write_lines

START, DAYS = "2024-03-04", 14  # across the spring DST change (Sunday 2024-03-10)


@pytest.fixture(scope="module")
def spot() -> pd.DataFrame:
    return session_bars(START, DAYS)


@pytest.mark.parametrize(
    "layout,name",
    [
        ("firstrate", "nq.csv"),
        ("kibot", "nq.txt"),
        ("databento", "nq.csv.gz"),
        ("databento-parquet", "nq.parquet"),
        ("tradingview", "nq.csv"),
    ],
)
def test_every_layout_imports_to_the_same_utc_bars_at_the_market_level(tmp_path, store, spot, layout, name):
    path = tmp_path / name
    if name.endswith(".gz"):
        write_sample(tmp_path / "plain.csv", layout, START, DAYS)
        path.write_bytes(gzip.compress((tmp_path / "plain.csv").read_bytes()))
    else:
        write_sample(path, layout, START, DAYS)
    report = run_import(store, path)
    bars = store.read(COIN, IV, "proxy")
    assert report.new == len(bars) == len(spot)
    assert (bars["source"] == "proxy").all()
    np.testing.assert_array_equal(timestamps_ms(bars), spot["ts"].to_numpy())
    # futures -> spot with the front month's T recovers the generator's spot prices up to NQ's 0.25 tick
    np.testing.assert_allclose(bars["close"].to_numpy(), spot["close"].to_numpy(), rtol=2e-5)
    assert report.files[0]["stamp"] == "open"
    assert report.transform.kind == "futures"


def test_a_zip_of_yearly_files_is_one_import_and_overlaps_merge(tmp_path, store, spot):
    write_sample(tmp_path / "all.csv", "firstrate", START, DAYS)
    rows = lines_of(tmp_path / "all.csv")
    with zipfile.ZipFile(tmp_path / "nq.zip", "w") as zf:
        zf.writestr("part1.csv", "\n".join(rows[:9000]) + "\n")
        zf.writestr("part2.csv", "\n".join(rows[8000:]) + "\n")  # 1,000 rows in both
    report = run_import(store, tmp_path / "nq.zip")
    assert [f["name"].split(":")[-1] for f in report.files] == ["part1.csv", "part2.csv"]
    assert report.duplicates == 1000 and report.new == len(spot)


def test_local_times_across_the_dst_change_land_on_the_right_utc_sunday_open(tmp_path, store):
    write_sample(tmp_path / "nq.csv", "kibot", START, DAYS)
    run_import(store, tmp_path / "nq.csv")
    ts = store.read(COIN, IV, "proxy")["timestamp"]
    sunday_opens = ts[(ts.diff() > pd.Timedelta(hours=40))]
    assert list(sunday_opens.dt.strftime("%Y-%m-%d %H:%M")) == ["2024-03-10 22:00", "2024-03-17 22:00"]  # EDT
    first = ts.iloc[0]  # Monday 2024-03-04 00:00 UTC = Sunday 19:00 EST, one hour into the session
    assert first == pd.Timestamp("2024-03-04 00:00", tz="UTC")
    et = ts.dt.tz_convert("America/New_York")
    in_break = (et.dt.hour == 17) & (et.dt.dayofweek <= 3)
    assert not in_break.any()  # nothing in the 17:00-18:00 ET daily break, before or after the change


def test_local_times_written_in_utc_are_detected_as_utc(tmp_path, store, spot):
    write_sample(tmp_path / "et.csv", "firstrate", START, DAYS)
    utc = pd.to_datetime(spot["ts"], unit="ms").dt.strftime("%Y-%m-%d %H:%M:%S")
    rows = [f"{t},{r.split(',', 1)[1]}" for t, r in zip(utc, lines_of(tmp_path / "et.csv"))]
    write_lines(tmp_path / "utc.csv", rows)
    report = run_import(store, tmp_path / "utc.csv")
    assert report.files[0]["tz"] == "UTC"
    np.testing.assert_array_equal(timestamps_ms(store.read(COIN, IV, "proxy")), spot["ts"].to_numpy())


def test_a_wrong_timezone_puts_bars_in_the_daily_break_and_is_refused_naming_rows(tmp_path, store):
    write_sample(tmp_path / "nq.csv", "firstrate", START, DAYS)
    with pytest.raises(DataError) as err:
        run_import(store, tmp_path / "nq.csv", tz="UTC")
    msg = str(err.value)
    assert "daily break or weekend read as --tz UTC" in msg and "nq.csv line " in msg and " ET)" in msg
    assert "--tz America/New_York --bar-stamp open" in msg  # the fit that works
    assert not store.folder(COIN, IV, "proxy").exists()  # nothing written


def test_close_stamped_bars_are_detected_and_shifted_back_one_bar(tmp_path, store, spot):
    write_sample(tmp_path / "open.csv", "firstrate", START, DAYS)
    rows = lines_of(tmp_path / "open.csv")
    closes = pd.to_datetime([r.split(",")[0] for r in rows]) + pd.Timedelta(minutes=1)
    write_lines(tmp_path / "close.csv", [f"{t:%Y-%m-%d %H:%M:%S},{r.split(',', 1)[1]}" for t, r in zip(closes, rows)])
    report = run_import(store, tmp_path / "close.csv")
    assert report.files[0]["stamp"] == "close"
    assert any("bar stamp: close" in n for n in report.files[0]["notes"])
    np.testing.assert_array_equal(timestamps_ms(store.read(COIN, IV, "proxy")), spot["ts"].to_numpy())


def test_close_stamped_bars_read_as_open_stamped_are_refused(tmp_path, store):
    write_sample(tmp_path / "open.csv", "firstrate", START, DAYS)
    rows = lines_of(tmp_path / "open.csv")
    closes = pd.to_datetime([r.split(",")[0] for r in rows]) + pd.Timedelta(minutes=1)
    write_lines(tmp_path / "close.csv", [f"{t:%Y-%m-%d %H:%M:%S},{r.split(',', 1)[1]}" for t, r in zip(closes, rows)])
    with pytest.raises(DataError, match=r"bar stamp open; the bars fit --tz America/New_York --bar-stamp close"):
        run_import(store, tmp_path / "close.csv", bar_stamp="open", tz="America/New_York")


def test_a_time_that_does_not_exist_on_the_dst_change_is_named(tmp_path, store):
    write_sample(tmp_path / "nq.txt", "kibot", START, DAYS)
    rows = lines_of(tmp_path / "nq.txt")
    rows.insert(5, "03/10/2024,02:30,20000.00,20001.00,19999.00,20000.50,10")  # 02:30 ET that Sunday never was
    write_lines(tmp_path / "nq.txt", rows)
    with pytest.raises(DataError, match=r"does not exist or happens twice in America/New_York.*nq.txt line 6"):
        run_import(store, tmp_path / "nq.txt")


def test_headerless_file_of_an_unknown_shape_asks_for_columns_and_columns_fix_it(tmp_path, store, spot):
    write_sample(tmp_path / "nq.txt", "kibot", START, DAYS)
    rows = [",".join([*r.split(",")[:2], "X", *r.split(",")[2:]]) for r in lines_of(tmp_path / "nq.txt")]
    write_lines(tmp_path / "odd.txt", rows)  # an extra column between time and open
    with pytest.raises(DataError, match=r"open is not a number: [\d,]+ row\(s\), e.g. .*odd.txt line 1 \('X'\)"):
        run_import(store, tmp_path / "odd.txt")
    report = run_import(store, tmp_path / "odd.txt", columns=["date", "time", "skip", "open", "high", "low", "close",
                                                             "volume"])  # fmt: skip
    assert report.new == len(spot) and report.files[0]["layout"] == "--columns"


def test_a_broker_export_in_its_server_zone_needs_tz_and_then_reads(tmp_path, store, spot):
    write_sample(tmp_path / "nq.txt", "kibot", START, DAYS)
    rows = ["<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>"]  # MetaTrader, broker time (UTC+2/+3)
    for r in lines_of(tmp_path / "nq.txt"):
        d, t, *rest = r.split(",")
        local = pd.Timestamp(f"{d} {t}").tz_localize("America/New_York").tz_convert("Europe/Athens")
        rows.append("\t".join([local.strftime("%Y.%m.%d"), local.strftime("%H:%M:%S"), *rest]))
    write_lines(tmp_path / "mt.txt", rows)
    with pytest.raises(DataError, match=r"none fits: give --tz"):
        run_import(store, tmp_path / "mt.txt")
    report = run_import(store, tmp_path / "mt.txt", tz="Europe/Athens")
    assert report.new == len(spot) and report.files[0]["layout"] == "header"
    np.testing.assert_array_equal(timestamps_ms(store.read(COIN, IV, "proxy")), spot["ts"].to_numpy())
