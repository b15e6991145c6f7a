"""The report folder: every file written, the HTML self-contained and honest about its data."""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pandas as pd
import pytest

from backtest.metrics import compute_metrics
from backtest.objectives import check_objectives
from backtest.report import headline, write_report
from backtest.report.plots import envelope
from backtest.sim.result import EXIT_REASONS
from backtest.venue.fees import default_schedule
from tests.support.results import OBJ, make_result, make_trades


def _result(n: int = 3000, n_trades: int = 12, provenance: dict | None = None, halts=(1500,)):
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, n)))
    equity = 10_000 * np.exp(np.cumsum(rng.normal(1e-5, 3e-4, n)))
    trades = make_trades(list(rng.normal(1.0, 5.0, n_trades)), sides=list(rng.choice([-1, 1], n_trades)))
    trades["exit_reason"] = pd.Categorical(trades["exit_reason"], categories=EXIT_REASONS)  # as the simulator emits
    return make_result(
        equity,
        initial=10_000.0,
        close=close,
        trades=trades,
        actions=rng.integers(-1, 3, n),
        position=(rng.random(n) < 0.2) * 0.1,
        provenance=provenance if provenance is not None else {"source": "hybrid", "share_real": 0.375, "seed": 7},
        halts=list(halts),
        fees=3.5,
    )


def _write(tmp_path, result, config=None, min_trades=50):
    metrics = compute_metrics(result)
    check = check_objectives(metrics, OBJ, min_trades)
    path = write_report(result, metrics, check, tmp_path / "run", "rules on XYZ100", config)
    return path, metrics, check


def test_writes_every_report_file_with_readable_contents(tmp_path):
    result = _result()
    path, metrics, _ = _write(tmp_path, result, config={"backtest": {"interval": "1m", "latency_ms": (5, 15)}})
    out = tmp_path / "run"
    assert path == out / "report.html"
    for name in ("metrics.json", "trades.parquet", "trades.csv", "equity.parquet", "report.html"):
        assert (out / name).stat().st_size > 0, name
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["metrics"]["n_trades"] == 12
    assert doc["objectives"]["passed"] is False
    assert doc["provenance"]["share_real"] == 0.375
    assert doc["config"]["backtest"]["latency_ms"] == [5, 15]
    assert set(doc["monthly_returns_pct"]) == {"2024-01"}
    trades = pd.read_parquet(out / "trades.parquet")
    assert len(trades) == 12 and list(trades.columns[:3]) == ["entry_time", "exit_time", "entry_bar"]
    assert len(pd.read_csv(out / "trades.csv")) == 12
    eq = pd.read_parquet(out / "equity.parquet")
    assert list(eq.columns[:4]) == ["timestamp", "equity", "drawdown", "position"]
    assert len(eq) == result.n_bars
    assert eq["drawdown"].max() == pytest.approx(metrics["max_drawdown_pct"])
    assert str(eq["timestamp"].dt.tz) == "UTC"


def test_html_is_self_contained(tmp_path):
    path, _, _ = _write(tmp_path, _result(), config={"market": {"base_url": "https://api.hyperliquid.xyz"}})
    html = path.read_text()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html, re.IGNORECASE)
    assert "<link" not in html and "<script" not in html and "@import" not in html
    images = re.findall(r'<img [^>]*src="([^"]+)"', html)
    assert len(images) == 5 and all(src.startswith("data:image/png;base64,") for src in images)


def test_html_shows_objectives_table_circuit_breaker_and_provenance_share(tmp_path):
    path, _, check = _write(tmp_path, _result(n_trades=12))
    html = path.read_text()
    assert 'class="objectives"' in html
    for row in check.rows:
        assert row.label in html
    assert 'class="fail"' in html and "FAIL" in html
    assert "TRADE DENSITY CIRCUIT BREAKER: 12 trades &lt; 50 required — figures are not meaningful" in html
    assert "37.5 %" in html and "HYBRID DATA" in html
    assert "SYNTHETIC DATA" not in html
    assert "Drawdown halt fired at: 2024-01-02T01:00:00+00:00" in html
    assert "Exit reasons — signal: 12." in html  # reasons that never happened are left out


def test_synthetic_label_is_shown_when_the_source_is_synthetic(tmp_path):
    path, _, _ = _write(tmp_path, _result(provenance={"source": "synthetic", "seed": 7}))
    html = path.read_text()
    assert html.count("SYNTHETIC DATA") >= 2  # top banner and provenance section
    assert "0.0 % real bars" in html


def test_proxy_data_is_labelled_with_its_shares_and_symbol(tmp_path):
    prov = {"source": "proxy", "share_real": 0.25, "share_proxy": 0.75, "share_synthetic": 0.0}
    prov["proxy"] = {"symbol": "NQ"}
    path, _, _ = _write(tmp_path, _result(provenance=prov))
    html = path.read_text()
    assert html.count("PROXY DATA") >= 2 and "75.0 % proxy bars (NQ)" in html and "SYNTHETIC DATA" not in html
    assert "share of proxy bars</td><td>75.0 %" in html and "share of synthetic bars</td><td>0.0 %" in html
    hybrid = dict(prov, source="hybrid", share_proxy=0.5, share_synthetic=0.25)
    assert "HYBRID DATA" in _write(tmp_path / "h", _result(provenance=hybrid))[0].read_text()


def test_real_data_carries_no_warning_banner(tmp_path):
    path, _, _ = _write(tmp_path, _result(provenance={"source": "real", "share_real": 1.0}))
    html = path.read_text()
    assert "SYNTHETIC DATA" not in html and "HYBRID DATA" not in html
    assert "REAL DATA" in html and "100.0 %" in html


def test_passing_run_shows_pass_rows_and_no_breaker(tmp_path):
    path, _, check = _write(tmp_path, _result(n_trades=12), min_trades=5)
    html = path.read_text()
    assert check.circuit_breaker is None
    assert "CIRCUIT BREAKER" not in html
    assert 'class="pass"' in html


def test_report_escapes_text_from_data_and_config(tmp_path):
    path, _, _ = _write(
        tmp_path, _result(provenance={"source": "<b>x</b>", "share_real": 0.5}), config={"note": "<script>"}
    )
    html = path.read_text()
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert "<script>" not in html


def test_empty_trade_list_still_renders(tmp_path):
    path, metrics, check = _write(tmp_path, _result(n_trades=0))
    assert metrics["n_trades"] == 0
    assert "No trades." in path.read_text()
    assert "0 trades &lt; 50 required" in path.read_text()
    assert check.failed_names[-1] == "n_trades"


def test_envelope_keeps_the_extremes_of_a_long_series():
    y = np.zeros(100_000)
    y[12_345] = 9.0
    y[77_777] = -4.0
    idx, lo, hi, last = envelope(y, max_points=1000)
    assert len(idx) <= 1000 and idx[0] == 0
    assert hi.max() == 9.0 and lo.min() == -4.0
    assert last[-1] == y[-1]


def test_headline_summarises_returns_risk_trades_data_and_fees():
    m = compute_metrics(_result(provenance={"source": "synthetic"}))
    text = headline(m)
    assert len(text.splitlines()) == 5 and text.splitlines()[-1] == "fees   unknown schedule"
    fees = default_schedule("xyz:XYZ100").to_dict()
    line = headline(compute_metrics(_result(provenance={"source": "synthetic", "fees": fees}))).splitlines()[-1]
    assert line.startswith("fees   taker 0.0900 % / maker 0.0300 % (xyz:XYZ100, HIP-3 standard 2x")
    assert "default HIP-3 schedule" in line
    assert f"{m['monthly_return_pct']:+.2f} % / month" in text
    assert f"sharpe {m['sharpe']:.2f}" in text
    assert "trades 12 " in text and "SYNTHETIC" in text and "halted x1" in text


def test_a_six_month_one_minute_report_renders_within_budget(tmp_path):
    n = 259_200
    rng = np.random.default_rng(1)
    close = 20_000 * np.exp(np.cumsum(rng.normal(0, 5e-4, n)))
    equity = 10_000 * np.exp(np.cumsum(rng.normal(2e-6, 2e-4, n)))
    trades = make_trades(list(rng.normal(0.5, 10, 3000)), sides=list(rng.choice([-1, 1], 3000)))
    result = make_result(
        equity,
        initial=10_000.0,
        close=close,
        trades=trades,
        actions=rng.integers(-1, 3, n),
        position=(rng.random(n) < 0.3) * 0.1,
        provenance={"source": "synthetic", "share_real": 0.0},
        halts=[100_000],
    )
    metrics = compute_metrics(result)
    check = check_objectives(metrics, OBJ, 50)
    t = time.perf_counter()
    path = write_report(result, metrics, check, tmp_path / "big", "big run")
    elapsed = time.perf_counter() - t
    assert path.exists()
    assert elapsed < 6.0, f"report took {elapsed:.2f}s"  # ~1 s measured; loose bound for a shared CI machine


def test_the_report_says_which_fees_were_charged_and_splits_pnl_by_market_session(tmp_path):
    fees = default_schedule("xyz:XYZ100").to_dict()
    result = _result(provenance={"source": "synthetic", "share_real": 0.0, "coin": "xyz:XYZ100", "fees": fees})
    _write(tmp_path, result)
    doc = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert doc["fee_schedule"]["source"] == "default HIP-3 schedule" and doc["metrics"]["fee_taker_pct"] == 0.09
    assert doc["metrics"]["fee_schedule"] == fees["label"]
    sessions = doc["by_session"]
    assert set(sessions) == {"open", "daily_break", "weekend", "holiday"}
    assert sum(s["bars"] for s in sessions.values()) == 3000
    assert sum(s["n_trades"] for s in sessions.values()) == 12
    html = (tmp_path / "run" / "report.html").read_text()
    assert "taker 0.0900 % / maker 0.0300 %" in html and "default HIP-3 schedule" in html
    assert "By market session" in html and "daily break" in html and "weekend" in html
