"""The objectives check: every objective can fail on its own, and too few trades fail loudly."""

from __future__ import annotations

import json

import pytest

from backtest.objectives import check_objectives
from tests.support.results import OBJ

GOOD = {"monthly_return_pct": 20.0, "sharpe": 2.0, "max_drawdown_pct": 3.0, "profit_factor": 1.6, "n_trades": 400}


def test_passes_when_every_objective_is_met():
    check = check_objectives(GOOD, OBJ, min_trades=50)
    assert check.passed
    assert check.failed_names == []
    assert check.circuit_breaker is None
    assert "objectives PASSED" in check.table()
    assert "CIRCUIT BREAKER" not in check.table()


def test_thresholds_are_inclusive():
    edge = {"monthly_return_pct": 15.0, "sharpe": 1.5, "max_drawdown_pct": 5.0, "profit_factor": 1.3, "n_trades": 50}
    assert check_objectives(edge, OBJ, min_trades=50).passed


@pytest.mark.parametrize(
    ("name", "bad_value"),
    [("monthly_return_pct", 14.9), ("sharpe", 1.49), ("max_drawdown_pct", 5.01), ("profit_factor", 1.29)],
)
def test_fails_each_objective_on_its_own(name, bad_value):
    check = check_objectives({**GOOD, name: bad_value}, OBJ, min_trades=50)
    assert not check.passed
    assert check.failed_names == [name]
    row = next(r for r in check.rows if r.name == name)
    assert row.value == bad_value and not row.passed
    assert "FAIL" in check.table()
    assert check.circuit_breaker is None


def test_circuit_breaker_fails_loudly_when_trades_are_too_few():
    check = check_objectives({**GOOD, "n_trades": 12}, OBJ, min_trades=50)
    assert not check.passed
    assert check.failed_names == ["n_trades"]
    msg = "TRADE DENSITY CIRCUIT BREAKER: 12 trades < 50 required — figures are not meaningful"
    assert check.circuit_breaker == msg
    assert msg in check.table()
    assert check.to_dict()["circuit_breaker"] == msg


def test_missing_or_nan_metrics_fail_rather_than_pass():
    check = check_objectives({"sharpe": float("nan"), "n_trades": 100}, OBJ, min_trades=50)
    assert set(check.failed_names) == {"monthly_return_pct", "sharpe", "max_drawdown_pct", "profit_factor"}
    assert "n/a" in check.table()


def test_real_days_row_is_added_for_promotion_and_can_fail():
    assert "real_days" not in [r.name for r in check_objectives(GOOD, OBJ, 50).rows]
    ok = check_objectives(GOOD, OBJ, 50, real_days=31.0)
    assert ok.passed and [r.name for r in ok.rows[-2:]] == ["real_days", "real_or_proxy_days"]
    short = check_objectives(GOOD, OBJ, 50, real_days=12.5)
    assert short.failed_names == ["real_days", "real_or_proxy_days"]
    with_proxy = check_objectives(GOOD, OBJ, 50, real_days=30.0, proxy_days=10.0)
    assert with_proxy.passed and with_proxy.rows[-1].value == 40.0


def test_to_dict_is_json_serialisable_and_complete():
    d = check_objectives({**GOOD, "sharpe": 0.2}, OBJ, 50).to_dict()
    text = json.dumps(d, allow_nan=False)
    assert d["passed"] is False and d["failed"] == ["sharpe"]
    assert {r["name"] for r in d["rows"]} == {
        "monthly_return_pct",
        "sharpe",
        "max_drawdown_pct",
        "profit_factor",
        "n_trades",
    }
    assert '"op": "<="' in text
