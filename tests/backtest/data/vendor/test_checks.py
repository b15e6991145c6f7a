"""Bad files get row-level errors and leave the store untouched; the same files twice add nothing."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from backtest.data.schema import DataError
from backtest.data.vendor.importer import META, read_meta
from backtest.data.vendor.samples import write_sample
from tests.support.vendor import COIN, IV, lines_of, run_import, write_lines

START, DAYS = "2024-05-06", 6


@pytest.fixture
def nq(tmp_path):
    path = tmp_path / "nq.csv"
    write_sample(path, "firstrate", START, DAYS)
    return path


def _snapshot(folder):
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_every_bad_row_is_named_by_file_and_line_and_nothing_is_written(tmp_path, store, nq):
    rows = lines_of(nq)
    rows[9] = "2024-05-06 xx:10:00" + rows[9][19:]  # line 10: unparsable time
    f = rows[19].split(",")
    rows[19] = ",".join([f[0], "-1", *f[2:]])  # line 20: negative open
    f = rows[29].split(",")
    rows[29] = ",".join([f[0], f[1], str(float(f[1]) - 50), *f[3:]])  # line 30: high below the open
    f = rows[39].split(",")
    rows[39] = ",".join([*f[:3], str(float(f[4]) + 50), *f[4:]])  # line 40: low above the close
    rows.insert(60, rows[58])  # line 61 repeats line 59 after line 60: out of order (and a duplicate that agrees)
    write_lines(nq, rows)
    with pytest.raises(DataError) as err:
        run_import(store, nq)
    msg = str(err.value)
    assert msg.startswith("import refused, nothing written:")
    for check, line in [("unparsable timestamp", 10), ("open is not positive", 20), ("high below max(open, close)", 30),
                        ("low above min(open, close)", 40), ("out of order", 61)]:  # fmt: skip
        assert check in msg and f"nq.csv line {line}" in msg, (check, msg)
    assert not (tmp_path / "store").exists()


def test_duplicated_bars_that_disagree_across_files_are_named_with_both_places(tmp_path, store, nq):
    rows = lines_of(nq)
    f = rows[100].split(",")
    other = ",".join([*f[:4], str(float(f[4]) + 0.25), f[5]])
    write_lines(tmp_path / "a.csv", rows[:200])
    write_lines(tmp_path / "b.csv", [other, *rows[101:]])
    with pytest.raises(DataError, match=r"two bars at the same time disagree.*a.csv line 101 and .*b.csv line 1"):
        run_import(store, tmp_path / "a.csv", tmp_path / "b.csv")
    assert not (tmp_path / "store").exists()


def test_a_bad_file_after_a_good_import_leaves_the_store_exactly_as_it_was(tmp_path, store, nq):
    run_import(store, nq)
    folder = store.root
    before = _snapshot(folder)
    write_sample(tmp_path / "next.csv", "firstrate", "2024-05-13", 3)
    rows = lines_of(tmp_path / "next.csv")
    rows[5] = rows[5].replace(rows[5].split(",")[2], "inf", 1)
    write_lines(tmp_path / "next.csv", rows)
    with pytest.raises(DataError, match=r"high is missing or not finite.*next.csv line 6"):
        run_import(store, tmp_path / "next.csv")
    assert _snapshot(folder) == before


def test_the_same_file_imported_twice_adds_nothing_and_touches_nothing(store, nq):
    first = run_import(store, nq)
    before = _snapshot(store.root)
    again = run_import(store, nq)
    assert first.new > 0 and again.new == 0 and again.unchanged == first.new
    assert _snapshot(store.root) == before  # not even the metadata is rewritten
    meta = read_meta(store.folder(COIN, IV, "proxy"))
    assert len(meta["imports"]) == 1 and meta["transform"]["kind"] == "futures"


def test_a_second_year_is_added_with_the_folders_transform_and_another_transform_is_refused(tmp_path, store, nq):
    run_import(store, nq)
    write_sample(tmp_path / "next.csv", "firstrate", "2024-05-13", 3)
    with pytest.raises(DataError, match=r"another transform \(--r-q 0.05 \(stored: 0.04\)\)"):
        run_import(store, tmp_path / "next.csv", r_minus_q=0.05)
    report = run_import(store, tmp_path / "next.csv")
    assert report.new > 0 and len(read_meta(store.folder(COIN, IV, "proxy"))["imports"]) == 2


def test_stored_bars_that_a_new_file_contradicts_refuse_the_import(tmp_path, store, nq):
    run_import(store, nq)
    rows = lines_of(nq)
    f = rows[10].split(",")
    rows[10] = ",".join([*f[:4], str(float(f[4]) + 0.25), f[5]])
    write_lines(tmp_path / "revised.csv", rows)
    with pytest.raises(DataError, match=r"1 bar\(s\) differ from the proxy bars already stored"):
        run_import(store, tmp_path / "revised.csv")


def test_five_minute_bars_are_not_imported_as_one_minute_bars(tmp_path, store, nq):
    rows = lines_of(nq)[::5]
    write_lines(tmp_path / "m5.csv", rows)
    with pytest.raises(DataError, match=r"m5.csv: most bars are 300 s apart: not 1m bars"):
        run_import(store, tmp_path / "m5.csv")


def test_several_instruments_in_one_databento_file_are_named(tmp_path, store):
    write_sample(tmp_path / "db.csv", "databento", START, DAYS)
    df = pd.read_csv(tmp_path / "db.csv")
    back = df.iloc[:50].copy()
    back["symbol"], back["close"] = "NQU4", back["close"] + 250_000_000_000
    back["high"] = np.maximum(back["high"], back["close"])
    pd.concat([df, back]).sort_values("ts_event", kind="stable").to_csv(tmp_path / "db.csv", index=False)
    with pytest.raises(DataError, match=r"disagree.*\(NQM4 vs NQU4: several instruments\?\)"):
        run_import(store, tmp_path / "db.csv")


def test_a_ratio_is_fitted_where_real_bars_overlap_and_stored_with_its_error(tmp_path, store, nq):
    from backtest.data.vendor.samples import session_bars

    spot = session_bars(START, DAYS)
    real = pd.DataFrame({"timestamp": spot["ts"], **{c: spot[c] * 1.002 for c in ("open", "high", "low", "close")},
                         "volume": 1.0, "trades": 1, "source": "hyperliquid"}).iloc[-1500:]  # fmt: skip
    store.append(real, COIN, IV)
    report = run_import(store, nq)
    t = report.transform
    assert t.ratio == pytest.approx(1.002, rel=2e-5) and t.fit["overlap_bars"] == 1500
    assert t.fit["rms_bps"] < 0.5 and "fitted on 1,500 in-session bars" in t.ratio_source
    assert read_meta(store.folder(COIN, IV, "proxy"))["transform"]["fit"]["overlap_bars"] == 1500


def test_an_etf_without_overlap_or_ratio_is_refused_and_a_given_ratio_maps_it(tmp_path, store, nq):
    with pytest.raises(DataError, match=r"'QQQ' is neither NQ futures nor the NDX index.*give --ratio"):
        run_import(store, nq, symbol="QQQ")
    report = run_import(store, nq, symbol="QQQ", ratio=1.5)
    assert report.transform.kind == "other" and report.transform.ratio == 1.5


def test_a_dry_run_checks_and_reports_but_writes_nothing(tmp_path, store, nq):
    report = run_import(store, nq, dry_run=True)
    assert report.new > 0 and "would add (dry run" in "\n".join(report.lines())
    assert not (tmp_path / "store").exists()


def test_an_interrupted_import_leaves_a_folder_reads_refuse_until_it_is_rerun(tmp_path, store, nq, monkeypatch):
    from backtest.data import store as store_mod

    real = store_mod._commit
    calls = {"n": 0}

    def die(tmp, path):
        if calls["n"] == 3:
            raise KeyboardInterrupt
        calls["n"] += 1
        real(tmp, path)

    monkeypatch.setattr(store_mod, "_commit", die)
    with pytest.raises(KeyboardInterrupt):
        run_import(store, nq)
    monkeypatch.undo()
    with pytest.raises(DataError, match="incomplete"):
        store.read(COIN, IV, "proxy")
    assert not (store.folder(COIN, IV, "proxy") / META).exists()
    report = run_import(store, nq)  # rerunning completes it
    assert report.new + report.unchanged == report.bars and len(store.read(COIN, IV, "proxy")) == report.bars
    assert os.path.exists(store.folder(COIN, IV, "proxy") / META)


def test_the_cli_prints_one_line_naming_file_and_rows_and_exits_2(tmp_path, nq, capsys):
    from backtest.data.__main__ import main

    rows = lines_of(nq)
    rows[2] = rows[2].replace(",", ",abc,", 1).replace(",abc,", ",", 1).replace(rows[2].split(",")[1], "abc")
    write_lines(nq, rows)
    assert main(["import", str(nq), "--data-dir", str(tmp_path / "st")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "open is not a number" in err and "nq.csv line 3 ('abc')" in err
    assert not (tmp_path / "st").exists()
    assert main(["import", str(tmp_path / "missing.csv"), "--data-dir", str(tmp_path / "st")]) == 2
    assert "missing.csv: no such file" in capsys.readouterr().err
