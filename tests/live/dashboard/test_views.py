"""The figures the dashboard and monitor show, as pure functions over journal records, status, cycles, registry
entries and report/sweep documents (no browser)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from live.dashboard import views
from live.journal import read_records

MON = int(pd.Timestamp("2026-03-02 10:00", tz="UTC").value // 1_000_000)  # a Monday
MIN = 60_000


def dec(i: int, action: str = "HOLD", equity: float | None = 10_000.0, **kw) -> dict:
    return {"kind": "decision", "ts": MON + i * MIN + 50, "bar": MON + i * MIN, "action": action, "close": 100.0 + i,
            "equity": equity, "position": 0.0, "executed": True, "blocked": None, **kw}  # fmt: skip


def test_hold_rate_is_the_share_of_hold_decisions_and_decisions_per_bar_counts_bars():
    ds = [dec(0, "HOLD"), dec(1, "BUY"), dec(2, "HOLD"), dec(3, "SELL", blocked="drawdown halt")]
    s = views.decision_summary(ds, bars=5)
    assert s["hold_rate_pct"] == 50.0
    assert (s["buy"], s["sell"], s["hold"]) == (1, 1, 2)
    assert s["per_bar"] == pytest.approx(0.8)
    assert s["blocked"] == 1
    assert views.decision_summary([])["hold_rate_pct"] is None


def test_rolling_hold_rate_uses_the_last_window_of_decisions():
    ds = [dec(i, "HOLD" if i < 4 else "BUY") for i in range(8)]
    hr = views.hold_rate_series(ds, window=4)
    assert hr["hold_rate_pct"].tolist() == [100, 100, 100, 100, 75, 50, 25, 0]


def test_equity_frame_gives_pnl_since_the_first_decision_and_drawdown_below_the_running_peak():
    ds = [dec(0, equity=100.0), dec(1, equity=110.0), dec(2, equity=99.0), dec(3, equity=None), dec(4, equity=121.0)]
    f = views.equity_frame(ds)
    assert f["equity"].tolist() == [100.0, 110.0, 99.0, 121.0]  # a decision without equity is skipped
    assert f["pnl"].tolist() == [0.0, 10.0, -1.0, 21.0]
    assert f["drawdown_pct"].tolist() == pytest.approx([0.0, 0.0, 10.0, 0.0])
    assert f["time"].iloc[0] == pd.Timestamp(MON, unit="ms", tz="UTC")


def test_live_vs_backtest_joins_on_the_bar_and_scales_the_backtest_to_the_live_start():
    ds = [dec(i, equity=9_000.0 + i) for i in range(3)]
    bt_bars = np.array([MON + i * MIN for i in range(-1, 3)], dtype=np.int64)  # one bar the live session lacks
    cf = views.compare_frame(ds, bt_bars, np.array([10_000.0, 10_000.0, 10_010.0, 10_020.0]))
    live = cf[cf.source == "live"]["equity"].tolist()
    bt = cf[cf.source == "backtest"]["equity"].tolist()
    assert live == [9_000.0, 9_001.0, 9_002.0]
    assert bt == pytest.approx([9_000.0, 9_009.0, 9_018.0])
    assert views.compare_frame(ds, np.array([], dtype=np.int64), np.array([])).empty


def fill(oid, t, direction, side="B", px=100.0, size=1.0, cloid=None):
    return {"kind": "fill", "oid": oid, "cloid": cloid or f"c{oid}", "time": t, "dir": direction, "side": side,
            "px": px, "size": size, "fee": 0.05}  # fmt: skip


def test_heatmap_counts_each_entry_once_by_weekday_and_hour_ignoring_closes():
    fills = [
        fill(1, MON, "Open Long"),
        fill(1, MON + 1000, "Open Long"),  # a partial fill of the same order
        fill(2, MON + 5 * MIN, "Close Long", side="A"),
        fill(3, MON + 3_600_000, "Open Short", side="A"),
        fill(4, MON + 86_400_000, "Open Long"),  # Tuesday
    ]
    times = views.entry_times(fills)
    assert times == [MON, MON + 3_600_000, MON + 86_400_000]
    h = views.heatmap(times)
    assert h.shape == (7, 24) and h.sum() == 3
    assert h[0, 10] == 1 and h[0, 11] == 1 and h[1, 10] == 1
    frame = views.heatmap_frame(h)
    assert len(frame) == 168 and frame.query("weekday == 'Mon' and hour == 10")["trades"].item() == 1


def test_slippage_is_signed_against_the_trader_and_triggers_are_measured_against_their_trigger():
    orders = [
        {"cloid": "b", "is_buy": True, "decision_px": 100.0, "reason": "open"},
        {"cloid": "s", "is_buy": False, "decision_px": 100.0, "reason": "signal"},
        {"cloid": "t", "is_buy": False, "trigger_px": 200.0, "tpsl": "sl", "reason": "sl"},
    ]
    fills = [
        fill(1, MON, "Open Long", "B", px=100.05, cloid="b"),  # paid 5 bps more
        fill(2, MON, "Close Long", "A", px=99.98, cloid="s"),  # sold 2 bps lower
        fill(3, MON, "Close Long", "A", px=200.1, cloid="t"),  # a stop that filled better than its trigger
        fill(4, MON, "Close Long", "A", px=1.0, cloid="unknown"),
    ]
    rows = views.fill_rows(fills, orders)
    assert [r["slippage_bps"] for r in rows[:3]] == pytest.approx([5.0, 2.0, -5.0])
    assert rows[3]["slippage_bps"] is None and rows[2]["reason"] == "sl"
    st = views.slippage_stats(rows)
    assert st["n"] == 3 and st["mean_bps"] == pytest.approx(2 / 3) and st["worst_bps"] == pytest.approx(5.0)
    table = views.fill_table(rows, 2)
    assert [r["slippage bps"] for r in table] == ["-", "-5.00"]  # newest first


def test_open_orders_rest_until_cancelled_filled_or_their_leg_is_gone_and_a_failed_cancel_leaves_them():
    orders = [
        {"cloid": "tp1", "tpsl": "tp", "leg": "L1", "is_buy": False, "size": 1.0, "trigger_px": 110.0, "ts": MON},
        {"cloid": "sl1", "tpsl": "sl", "leg": "L1", "is_buy": False, "size": 1.0, "trigger_px": 90.0, "ts": MON},
        {"cloid": "tp2", "tpsl": "tp", "leg": "L2", "is_buy": False, "size": 1.0, "trigger_px": 110.0, "ts": MON},
        {"cloid": "sl2", "tpsl": "sl", "leg": "L2", "is_buy": False, "size": 1.0, "trigger_px": 90.0, "ts": MON},
        {"cloid": "ioc", "order_type": "ioc", "is_buy": True, "size": 1.0, "ts": MON},
    ]
    acks = [{"cloid": c, "status": "resting"} for c in ("tp1", "sl1", "tp2", "sl2")]
    acks.append({"cloid": "ioc", "status": "filled"})
    cancels = [{"cloid": "tp1"}]
    fills = [{"cloid": "sl1"}]
    rows = views.open_orders(orders, acks, cancels, fills)
    assert [r["cloid"] for r in rows] == ["tp2", "sl2"]
    assert views.open_orders(orders, acks, cancels, fills, open_legs={"L9"}) == []
    status = {"position": {"legs": [{"leg_id": "L2"}]}}
    assert len(views.open_orders(orders, acks, cancels, fills, views.open_leg_ids(status))) == 2
    failed = [{"cloid": "tp1"}, {"cloid": "tp2", "error": "no answer", "gone": False}]  # tp2's cancel failed
    assert [r["cloid"] for r in views.open_orders(orders, acks, failed, fills)] == ["tp2", "sl2"]
    already = [{"cloid": "tp2", "error": None, "gone": True}]  # the venue had closed it: gone all the same
    assert [r["cloid"] for r in views.open_orders(orders, acks, already, fills)] == ["tp1", "sl2"]


def status(**risk) -> dict:
    base = {"drawdown_pct": 1.5, "halt_level_pct": 4.0, "halted": False, "emergency": False, "breaker_open": False}
    return {"running": True, "updated_ms": MON, "risk": {**base, **risk},
            "feed": {"connected": True, "last_message_age_s": 2.0}}  # fmt: skip


def test_risk_view_puts_drawdown_beside_the_halt_level_and_ranks_the_worst_flag():
    v = views.risk_view(status(), MON + 3_000)
    assert (v["drawdown_pct"], v["halt_level_pct"], v["headroom_pct"]) == (1.5, 4.0, 2.5)
    assert v["level"] == "ok" and v["status_age_s"] == 3.0
    assert views.risk_view(status(halted=True), MON)["level"] == "critical"
    assert views.risk_view(status(emergency=True), MON)["level"] == "critical"
    assert views.risk_view(status(breaker_open=True), MON)["level"] == "warning"
    down = {**status(), "feed": {"connected": False}}
    assert views.risk_view(down, MON)["level"] == "warning"
    assert views.risk_view(None, MON)["level"] == "warning"  # no status: not running


def test_equity_view_prefers_status_and_falls_back_to_the_journal():
    ds = [dec(0, equity=10_000.0), dec(1, equity=10_250.0)]
    assert views.equity_view({"equity": 9_900.0, "start_equity": 10_000.0}, ds)["pnl"] == pytest.approx(-100.0)
    v = views.equity_view(None, ds)
    assert (v["equity"], v["pnl"], v["pnl_pct"]) == (10_250.0, 250.0, 2.5)


def test_live_figures_gather_what_the_page_and_the_monitor_show_from_one_journal_window():
    recs = [{"kind": "bar", "ts": MON, "bar": MON}, {"kind": "bar", "ts": MON + MIN, "bar": MON + MIN},
            dec(0, "HOLD", 10_000.0), dec(1, "BUY", 10_050.0)]  # fmt: skip
    fig = views.live_figures({}, recs, MON + 2 * MIN)
    assert [d["action"] for d in fig["decisions"]] == ["HOLD", "BUY"] and len(fig["kinds"]["bar"]) == 2
    assert fig["summary"]["hold_rate_pct"] == 50.0 and fig["summary"]["bars"] == 2
    assert fig["equity"] == views.equity_view({}, fig["decisions"]) and fig["fills"] == []
    assert fig["slippage"]["n"] == 0 and fig["position"] == views.position_view({})


def test_alerts_are_the_journals_alert_records_trader_and_autopilot_newest_first(tmp_path):
    from live.journal import Journal

    now = [1.0]
    trader = Journal(tmp_path / "trader", clock=lambda: now[0])
    trader.write("risk", event="halt", drawdown_pct=4.1, equity=9590.0, peak=10000.0)
    trader.alert("halt", {"equity": 9590.0, "peak": 10000.0, "drawdown_pct": 4.1, "halt_level_pct": 4.0})
    now[0] = 2.0
    trader.alert("feed_lost", {"why": "socket closed"})
    now[0] = 3.0
    trader.alert("order_refused", {"error": "insufficient margin", "is_buy": True, "size": 0.5, "limit_px": 20100.0})
    trader.write("decision", bar=1)
    auto = Journal(tmp_path / "auto", clock=lambda: now[0])
    now[0] = 4.0
    auto.alert("grade_changed", {"cycle": 3, "old": "POOR", "new": "CRITICAL", "reasons": ["live halt"]})
    recs = [*read_records(tmp_path / "trader")]
    al = views.alerts(recs, [*read_records(tmp_path / "auto")])
    assert [a["kind"] for a in al] == ["grade_changed", "order_refused", "feed_lost", "halt"]
    by = {a["kind"]: a for a in al}
    assert by["halt"]["level"] == "critical" and "4.10 %" in by["halt"]["text"] and "9,590.00" in by["halt"]["text"]
    assert by["feed_lost"]["level"] == "warning" and "socket closed" in by["feed_lost"]["text"]
    assert by["order_refused"]["level"] == "warning" and "insufficient margin" in by["order_refused"]["text"]
    assert by["grade_changed"]["level"] == "critical" and "POOR -> CRITICAL" in by["grade_changed"]["text"]
    # the status keeps the newest alerts of the same records
    assert [a["event"] for a in trader.alerts] == ["halt", "feed_lost", "order_refused"]


CYCLES = [
    {"cycle": 1, "start_ms": MON, "end_ms": MON + 10 * MIN, "status": "POOR", "reasons": ["sharpe < 0"],
     "actions": ["cut_size", "sweep"], "size_multiplier": {"old": 1.0, "new": 0.75},
     "trials": {"execution": 8, "learning": 0}, "winner": {"id": "rp-1", "kind": "rules-params", "score": 0.4},
     "gate": {"passed": False, "failed": ["sharpe", "profit_factor"]}, "promoted": None, "swap": None, "error": None},
    {"cycle": 2, "start_ms": MON + 30 * MIN, "end_ms": MON + 45 * MIN, "status": "GOOD", "reasons": [],
     "actions": ["promote", "swap"], "size_multiplier": {"old": 0.75, "new": 1.0},
     "trials": {"execution": 8, "learning": 4}, "winner": {"id": "rp-2", "kind": "rules-params", "score": 1.2},
     "gate": {"passed": True, "failed": []}, "promoted": "rp-2", "swap": {"old": "rp-0", "new": "rp-2"},
     "error": None},
]  # fmt: skip


def test_cycle_rows_show_status_actions_trials_gate_and_swap_newest_first():
    rows = views.cycle_rows(CYCLES)
    assert [r["cycle"] for r in rows] == [2, 1]
    assert rows[0]["swap"] == "rp-0 -> rp-2" and rows[0]["gate"] == "PASS" and rows[0]["minutes"] == "15.0"
    assert rows[0]["trials exec/learn"] == "8/4" and rows[0]["promoted"] == "rp-2"
    assert rows[1]["gate"] == "REFUSED: sharpe, profit_factor" and rows[1]["size"] == "1.00 -> 0.75"
    s = views.cycle_summary(CYCLES)
    assert s["cycles"] == 2 and s["gate_passed"] == 1 and s["gate_refused"] == 1 and s["swaps"] == 1
    assert s["trials"] == 20 and s["last_status"] == "GOOD" and s["by_status"]["POOR"] == 1
    f = views.cycle_frame(CYCLES)
    assert f["level"].tolist() == [1, 3] and f["swap"].tolist() == [False, True]
    assert views.cycle_summary([])["last_status"] is None


def test_cycle_timeline_is_one_point_per_cycle_until_many_then_counts_per_bucket_and_status():
    small, bucket = views.cycle_timeline(views.cycle_frame(CYCLES))
    assert bucket == "cycle" and small["cycles"].tolist() == [1, 1] and small["swaps"].tolist() == [0, 1]
    start = 1_767_225_600_000  # 2026-01-01 00:00 UTC
    month = [{"cycle": i, "end_ms": start + i * 1_800_000, "status": "GOOD" if i % 3 else "POOR",
              "trials": {"exec": 2}, "swap": i == 100} for i in range(1440)]  # fmt: skip
    points, bucket = views.cycle_timeline(views.cycle_frame(month), max_points=240)
    assert bucket == "6 hours" and len(points) <= 240
    assert points["cycles"].sum() == 1440 and points["trials"].sum() == 2880 and points["swaps"].sum() == 1
    by_day, bucket = views.cycle_timeline(views.cycle_frame(month), max_points=60)
    assert bucket == "day" and len(by_day) == 60  # 30 days x 2 statuses
    first = by_day[by_day["time"] == pd.Timestamp(start, unit="ms", tz="UTC")].set_index("status")["cycles"]
    assert first.to_dict() == {"GOOD": 32, "POOR": 16}
    assert views.cycle_timeline(views.cycle_frame([]))[0].empty


def test_thinning_a_long_line_keeps_its_ends_and_every_bucket_extreme():
    rng = np.random.default_rng(0)
    y = np.cumsum(rng.normal(size=1440))
    y[700] = 1e3  # a spike and a trough that plain decimation could drop
    y[701] = -1e3
    frame = pd.DataFrame({"time": pd.to_datetime(np.arange(1440) * 60_000, unit="ms", utc=True), "y": y})
    thin = views.thin(frame, "y", max_points=500)
    assert len(thin) <= 500 and thin["time"].is_monotonic_increasing
    assert thin["y"].max() == 1e3 and thin["y"].min() == -1e3
    assert thin["time"].iloc[0] == frame["time"].iloc[0] and thin["time"].iloc[-1] == frame["time"].iloc[-1]
    assert len(views.thin(frame.head(100), "y")) == 100
    two = pd.concat([frame.assign(source="live"), frame.assign(source="backtest")], ignore_index=True)
    both = views.thin(two, "y", max_points=500, by="source")
    assert both.groupby("source").size().max() <= 500 and set(both["source"]) == {"live", "backtest"}


def entry(eid, status, passed, created):
    gate = None if passed is None else {"passed": passed, "failed": [] if passed else ["sharpe"], "rows": [
        {"name": "sharpe", "label": "sharpe (annualised)", "value": 2.0 if passed else 0.3, "op": ">=",
         "threshold": 1.5, "passed": passed}]}  # fmt: skip
    return {"id": eid, "kind": "ppo", "coin": "xyz:XYZ100", "status": status, "gate": gate, "created": created,
            "test": {"sharpe": 2.0, "n_trades": 60}}  # fmt: skip


def test_registry_rows_put_promoted_first_and_a_candidate_with_a_failed_gate_is_refused():
    entries = [entry("a", "retired", True, "1"), entry("b", "candidate", False, "2"),
               entry("c", "promoted", True, "3"), entry("d", "candidate", None, "4")]  # fmt: skip
    rows = views.registry_rows(entries)
    assert [(r["id"], r["group"]) for r in rows] == [("c", "promoted"), ("d", "candidate"), ("b", "refused"),
                                                     ("a", "retired")]  # fmt: skip
    assert rows[2]["gate"] == "REFUSED: sharpe" and rows[1]["gate"] == "-"
    gr = views.gate_rows(entries[1])
    assert gr == [{"objective": "sharpe (annualised)", "value": "0.300", "target": "≥ 1.500", "result": "FAIL"}]


def test_report_and_sweep_rows_carry_figures_verdicts_and_the_deflated_sharpe():
    rep = [{"name": "r1", "html": "/x/report.html", "doc": {"strategy": "rules", "generated_at": "now",
            "metrics": {"total_return_pct": -4.0, "sharpe": -10.5, "max_drawdown_pct": 4.0, "n_trades": 50},
            "objectives": {"passed": False}, "provenance": {"source": "synthetic", "share_real": 0.0}}}]  # fmt: skip
    r = views.report_rows(rep)[0]
    assert (r["report"], r["sharpe"], r["objectives"], r["data"]) == ("r1", "-10.50", "FAIL", "synthetic (0 % real)")
    sw = [
        {
            "name": "s1",
            "html": None,
            "doc": {
                "gate": {"passed": True},
                "test": {"sharpe": 1.9},
                "levels": [{"level": "execution", "dsr": {"dsr": 0.9731, "n_trials": 50}}],
                "registry_id": "rp-1",
            },
        }
    ]
    s = views.sweep_rows(sw)[0]
    assert s["deflated sharpe"] == "execution 0.973" and s["trials"] == "execution 50" and s["gate"] == "PASS"
    assert views.ray_links("http://127.0.0.1:8265/")["jobs"] == "http://127.0.0.1:8265/#/jobs"


def test_last_session_starts_at_the_last_start_record():
    recs = [{"kind": "start", "ts": 1}, dec(0), {"kind": "start", "ts": 2}, dec(1)]
    assert views.last_session(recs) == recs[2:]
    assert views.last_session(recs[1:2]) == recs[1:2]


def test_formatting_never_fails_on_missing_values():
    assert views.fmt_num(None) == "-" and views.fmt_num(float("nan")) == "-" and views.fmt_num(1234.5) == "1,234.50"
    assert views.fmt_signed(-1.0, 1, " %") == "-1.0 %" and views.fmt_pct(None) == "-"
    assert views.fmt_time(MON) == "2026-03-02 10:00:00" and views.fmt_age(90) == "90 s"
    assert views.fmt_age(7200) == "2.0 h"


def test_alert_records_show_their_level_and_message_once_and_skipped_lines_are_named():
    recs = [
        {"kind": "alert", "ts": 1, "event": "journal_torn", "level": "warning", "message": "moved 12 bytes aside",
         "figures": {"bytes": 12}},
        {"kind": "risk", "ts": 2, "event": "halt", "drawdown_pct": 4.1},  # the risk record itself is not an alert
        {"kind": "alert", "ts": 2, "event": "halt", "level": "critical", "message": "drawdown halt", "figures": {}},
        {"kind": "alert", "ts": 3, "event": "state_rebuilt", "level": "bogus", "message": "", "figures": {}},
        {"kind": "gap", "ts": 3, "bars": 4},  # shown through its restart_gap alert, not by itself
    ]  # fmt: skip
    al = views.alerts(recs)
    assert [(a["kind"], a["level"]) for a in al] == [
        ("state_rebuilt", "warning"),  # an unknown level reads as a warning, an empty message as the event
        ("halt", "critical"),
        ("journal_torn", "warning"),
    ]
    assert al[-1]["text"] == "moved 12 bytes aside" and al[0]["text"] == "state_rebuilt"
    assert views.skipped_text({"torn": 2, "salvaged": 1}) == (
        "2 torn journal line(s) skipped (a crash mid-write); 1 record(s) recovered from behind a torn line"
    )
    assert views.skipped_text({}) == ""
