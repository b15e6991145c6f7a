"""Execution figures of maker runs (backtest/execution_metrics.py), the headline, the report and the CLI's twin."""

from __future__ import annotations

import json

import pytest

from backtest.__main__ import main as backtest_main
from backtest.execution_metrics import cost_per_round_trip_bps, execution_metrics
from backtest.metrics import compute_metrics
from backtest.report.headline import headline
from backtest.sim import BUY, HOLD, SELL
from tests.support.sim import FLAT, make_market, run, sim_params

QUIET = (100.0, 100.05, 99.95, 100.0)


def maker_result():
    """Three entry orders: the first fills at 99.90 in its arrival bar (then max hold closes it), two expire."""
    bars = [FLAT, (100.0, 100.2, 99.8, 100.0), QUIET, (100.0, 100.6, 99.95, 100.5), QUIET, QUIET, QUIET, QUIET, QUIET]
    p = sim_params(execution__entry="maker", backtest__maker_commission_pct=0.01, trading__max_hold_seconds=60)
    res = run(make_market(bars), p, [BUY, HOLD, HOLD, HOLD, BUY, HOLD, SELL])
    res.execution = {"entry": "maker", "exit": "market", "take_profit": "market", "adverse_bars": 2,
                     "taker_pct": 0.05, "maker_pct": 0.01, "slippage_pct": 0.1}  # fmt: skip
    return res


def test_fill_rate_time_to_fill_and_markout_follow_their_definitions():
    res = maker_result()
    m = execution_metrics(res)
    assert (m["entry_orders_submitted"], m["entry_orders_filled"], m["entry_orders_expired"]) == (3, 1, 2)
    assert m["entry_fill_rate_pct"] == pytest.approx(100 / 3)
    assert m["entry_time_to_fill_bars"] == 0.0
    # filled at 99.90 in bar 1; two bars later the close is 100.5: the buy's markout is +60 bps
    assert m["entry_markout_bps"] == pytest.approx((100.5 - 99.90) / 99.90 * 1e4)
    t = res.trades.iloc[0]
    notional = t.qty * t.entry_price
    assert m["fees_saved_vs_taker"] == pytest.approx(notional * 0.0004)
    exit_slip = t.qty * t.exit_price * 0.001  # the exit was a market (max hold) close
    assert cost_per_round_trip_bps(res) == pytest.approx((t.fees + exit_slip) / notional * 1e4)


def test_metrics_headline_and_report_show_the_execution_block(tmp_path):
    res = maker_result()
    m = compute_metrics(res)
    assert m["entry_fill_rate_pct"] == pytest.approx(100 / 3)
    text = headline(m)
    assert "entry  maker: 3 orders, filled 1 (fill rate 33.3 %)" in text and "markout +60.06 bps after 2 bars" in text
    from backtest.config import load_objectives
    from backtest.objectives import check_objectives
    from backtest.report import write_report

    write_report(res, m, check_objectives(m, load_objectives(), 0), tmp_path, "t")
    html = (tmp_path / "report.html").read_text()
    assert "Execution (maker orders)" in html and "33.3 %" in html
    market = run(make_market([FLAT] * 4), sim_params(), [BUY])
    assert "cost_per_round_trip_bps" not in compute_metrics(market)  # market runs keep their figures as they were


def test_backtest_with_maker_entries_runs_end_to_end_with_fill_rate_markout_and_the_taker_twin(tmp_path, capsys):
    args = ["--days", "2", "--data", "synthetic", "--workers", "0", "--chunk-size", "1000", "--out", str(tmp_path)]
    code = backtest_main([*args, "--set", "execution.entry=maker", "--set", "objectives.auto_stop_drawdown=100"])
    out = capsys.readouterr().out
    assert code == 0
    assert "entry  maker:" in out and "fill rate" in out and "markout" in out and "twin   taker-only" in out
    metrics = json.loads((tmp_path / "metrics.json").read_text())["metrics"]
    assert metrics["entry_orders_submitted"] > metrics["entry_orders_filled"] > 0
    assert metrics["twin_fees_paid"] > 0 and metrics["execution_entry"] == "maker"
    assert "Execution (maker orders)" in (tmp_path / "report.html").read_text()


def test_a_run_without_maker_fills_reports_none_not_zero():
    res = run(make_market([FLAT, QUIET, QUIET]), sim_params(execution__entry="maker"), [SELL])
    res.execution = {"entry": "maker"}
    m = execution_metrics(res)
    assert m["entry_markout_bps"] is None and m["entry_time_to_fill_bars"] is None
