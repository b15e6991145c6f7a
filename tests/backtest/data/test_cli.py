from __future__ import annotations

import time

import pytest

from backtest.data.__main__ import main
from backtest.data.store import BarStore
from tests.support.stub_api import COIN, StubApi, make_candles


def test_synth_180_days_writes_259200_labelled_bars_and_prints_the_summary(tmp_path, capsys):
    assert main(["synth", "--days", "180", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert (
        "generated 259200 bars" in out
        and "real 0.0 % / proxy 0.0 % / synthetic 100.0 %" in out
        and "annualised vol" in out
    )
    bars = BarStore(tmp_path).read(COIN, "1m", "synthetic")
    assert len(bars) == 259_200 and (bars["source"] == "synthetic").all()
    assert BarStore(tmp_path).partitions(COIN, "1m", "real") == []


def test_missing_real_data_is_one_clear_paragraph_and_exit_2(tmp_path, capsys):
    assert main(["inspect", "--data", "real", "--days", "2", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error (DataError):") and "Traceback" not in err and "record" in err
    assert err.count("\n") == 1


def test_bad_override_is_a_config_error_with_exit_2(tmp_path, capsys):
    assert main(["synth", "--days", "1", "--set", "synth.annual_vol=-1", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "ConfigError" in err and "synth.annual_vol" in err


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("fetch", "record", "synth", "hybrid", "inspect"):
        assert cmd in out


def test_fetch_then_inspect_and_hybrid_against_a_loopback_api(tmp_path, capsys):
    now = int(time.time() * 1000)
    end = now - now % 60_000
    api = StubApi(make_candles(6000, end), window=5000, page_size=2000)
    url = api.start()
    try:
        common = ["--data-dir", str(tmp_path)]
        assert main(["fetch", "--base-url", url, "--days", "5", "--no-progress", *common]) == 0
        out = capsys.readouterr().out
        assert "earliest available" in out and "5000" in out
        assert main(["inspect", *common]) == 0
        assert "real 100.0 % / proxy 0.0 % / synthetic 0.0 %" in capsys.readouterr().out
        assert main(["hybrid", "--days", "5", *common]) == 0
        out = capsys.readouterr().out
        assert "7,200 bars" in out and "hyperliquid" in out and "synthetic" in out
    finally:
        api.stop()


def test_an_unwritable_data_dir_fails_at_the_door_with_exit_2(tmp_path, capsys):
    a_file = tmp_path / "not_a_dir"
    a_file.write_text("x")
    assert main(["synth", "--days", "1", "--data-dir", str(a_file / "store")]) == 2
    err = capsys.readouterr().err
    assert "--data-dir" in err and "Traceback" not in err and err.count("\n") == 1


def test_fees_asks_the_venue_caches_its_answer_and_backtests_charge_it(tmp_path, capsys):
    api = StubApi([])
    url = api.start()
    try:
        common = ["--data-dir", str(tmp_path)]
        assert main(["fees", "--show", *common]) == 0
        assert "charges: taker 0.0900 % / maker 0.0300 %" in capsys.readouterr().out  # the documented default
        assert main(["fees", "--base-url", url, "--user", "0x" + "ab" * 20, *common]) == 0
        out = capsys.readouterr().out
        assert "venue: taker 0.0800 % / maker 0.0240 %" in out and "venue userFees" in out
        assert (tmp_path / "venue" / "fees" / "xyz_XYZ100.json").is_file()
        assert main(["fees", "--show", *common]) == 0
        assert "charges: taker 0.0800 % / maker 0.0240 %" in capsys.readouterr().out
        api.growth_mode = True
        assert main(["fees", "--base-url", url, *common]) == 0  # no account: base tier 0, growth mode x0.1
        assert "venue: taker 0.0090 % / maker 0.0030 %" in capsys.readouterr().out
        assert main(["fees", "--base-url", url, "--user", "nobody", *common]) == 2
        assert "--user" in capsys.readouterr().err
        assert [r["type"] for r in api.requests].count("userFees") == 1
    finally:
        api.stop()
