"""The autopilot's alerts: a grade change, a failed sweep or training and a failed step, written once per cycle into
the autopilot's own journal (the pushes and the dashboard read it)."""

from __future__ import annotations

import pytest

from backtest.config import load_objectives, load_params
from live.autopilot import cycle as cyc
from live.autopilot.alerts import cycle_alerts
from live.autopilot.book import Book
from live.journal import read_records

JUDGED = {"policy": {"policy_id": "rules"}, "metrics": {"sharpe": -1.5, "max_drawdown_pct": 2.5, "n_trades": 30}}


def _fake_steps(monkeypatch, improve):
    steps = {
        "data": lambda ctx, st: {"source": "synthetic"},
        "judge": lambda ctx, st: JUDGED,
        "grade": lambda ctx, st: {"level": "POOR", "reasons": ["Sharpe -1.5 < 0"]},
        "act": lambda ctx, st: {"actions": ["size_down"], "size_multiplier": {"old": 1.0, "new": 0.75}},
        "improve": improve,
        "promote": lambda ctx, st: {"promoted": None},
    }
    monkeypatch.setattr(cyc, "STEP_FUNCS", steps)


@pytest.mark.parametrize(
    ("doing", "event", "what"),
    [
        (("sweep_failed", "execution sweep ap-c1-exec (8 trials of rules)"), "sweep_failed", "execution sweep"),
        (("training_failed", "retrain of ppo (4000 steps)"), "training_failed", "retrain of ppo"),
        (None, "cycle_failed", "step improve failed"),
    ],
)
def test_a_failed_sweep_training_or_step_is_alerted_once_with_the_grade_change(tmp_path, monkeypatch, doing, event,
                                                                              what):  # fmt: skip
    def improve(ctx, st):
        ctx.doing = doing
        raise RuntimeError("all trials failed")

    _fake_steps(monkeypatch, improve)
    book = Book(tmp_path)
    ctx = cyc.Context(load_params(), load_objectives(), book, tmp_path / "reg", tmp_path / "tune", log=lambda m: None)
    line = cyc.run_cycle(ctx)
    assert line["error"] == "improve: RuntimeError: all trials failed"
    alerts = list(read_records(tmp_path, kinds={"alert"}))
    assert [a["event"] for a in alerts] == ["grade_changed", event]
    grade, failed = alerts
    assert grade["level"] == "warning" and "first grade POOR for rules" in grade["message"]
    assert "size multiplier 1 -> 0.75" in grade["message"] and "Sharpe -1.5, max drawdown 2.5 %" in grade["message"]
    assert failed["level"] == "warning" and what in failed["message"]
    assert "RuntimeError: all trials failed" in failed["message"] and "starts in 1 h" in failed["message"]
    # the next cycle, same grade: no new grade alert
    _fake_steps(monkeypatch, lambda ctx, st: {"candidates": [], "skipped": "test"})
    cyc.run_cycle(ctx)
    assert [a["event"] for a in read_records(tmp_path, kinds={"alert"})] == ["grade_changed", event]


def test_a_promotion_carries_the_gate_figures_and_the_swap():
    state = {"cycle": 9, "steps": {
        "judge": JUDGED, "grade": {"level": "CRITICAL", "reasons": ["live halt"]},
        "act": {"actions": ["pause"], "paused": True},
        "promote": {"promoted": "ppo-9", "kind": "ppo", "live_test_sharpe": 0.4, "margin": 0.1, "for_live": True,
                    "gate": {"passed": True, "failed": []}, "swap": {"old": "rules", "new": "ppo-9", "resumed": True},
                    "test": {"sharpe": 1.3, "monthly_return_pct": 2.2, "max_drawdown_pct": 1.8, "profit_factor": 1.5,
                             "n_trades": 70}}}}  # fmt: skip
    (grade, figures), (promo, p) = cycle_alerts(state, "POOR", 3.0, 1.0, ["CRITICAL", "POOR"])
    assert grade == "grade_changed" and figures["old"] == "POOR" and figures["actions"] == ["pause"]
    assert promo == "promoted" and p["test_sharpe"] == 1.3 and p["live_sharpe"] == 0.4 and p["n_trades"] == 70
    assert p["swapped"] and p["resumed"] and p["old"] == "rules" and p["for_live"]


def test_a_torn_cycles_file_or_journal_is_healed_and_alerted_in_the_autopilot_journal(tmp_path):
    book = Book(tmp_path)
    book.record({"cycle": 1, "status": "GOOD"})
    with open(book.cycles_path, "a") as fh:
        fh.write('{"cycle": 2, "sta')  # a crash mid-write
    (tmp_path / "journal-2026-03-02.jsonl").write_text('{"ts":1,"kind":"alert","event":"swap"}\n{"ts":2,"ki')
    book.record({"cycle": 2, "status": "POOR"})
    assert [c["cycle"] for c in book.cycles()] == [1, 2]
    torn = [a for a in read_records(tmp_path, kinds={"alert"}) if a["event"] == "journal_torn"]
    assert sorted(a["figures"]["file"] for a in torn) == ["cycles.jsonl", "journal-2026-03-02.jsonl"]
    assert all(a["level"] == "warning" and "moved to" in a["message"] for a in torn)
    assert len(list(tmp_path.glob("*.torn-*"))) == 2
