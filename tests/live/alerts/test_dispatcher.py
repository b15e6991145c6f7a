"""The dispatcher against a loopback endpoint (apprise's json://): each event kind arrives once, rate limits and quiet
hours hold, the daily summary comes at its hour, a dead endpoint is retried then given up (journalled, never
alerted), a restart neither loses nor repeats a push, and no token shows anywhere."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime

import pytest

from backtest.config import load_params
from live.alerts.dispatcher import Dispatcher
from live.alerts.events import CATALOG, title_of
from live.alerts.summary import trader_summary
from live.alerts.targets import Target
from live.journal import Journal, read_records
from tests.support.alerts import TOKEN, Sink, free_port, sample_figures


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


class Clock:
    def __init__(self, text: str) -> None:
        self.t = ms(text) / 1000

    def __call__(self) -> float:
        return self.t

    def at(self, text: str) -> Clock:
        self.t = ms(text) / 1000
        return self


def cfg(*sets: str):
    base = ["alerts.poll_seconds=0.05", "alerts.retry_first_seconds=0.2", "alerts.send_timeout_seconds=2"]
    return load_params(overrides=[*base, *sets]).alerts


def target(url: str, level: str = "info", n: int = 1) -> Target:
    return Target(f"AML100_ALERT_URLS#{n} (json)", "json", level, url)


@pytest.fixture
def sink():
    s = Sink()
    yield s
    s.close()


def until(d: Dispatcher, cond, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        d.run_once()
        time.sleep(0.02)


def test_each_event_kind_arrives_once_with_its_level_title_and_message(tmp_path, sink):
    journal = Journal(tmp_path)
    d = Dispatcher(tmp_path, "xyz:XYZ100 paper", cfg("alerts.feed_down_seconds=0"), [target(sink.url())])
    d.run_once()  # opens at the journal's end: only what comes now is pushed
    for event, figures in sample_figures().items():
        journal.alert(event, figures)
    try:
        until(d, lambda: len(sink.posts) >= len(CATALOG) and not d.pending)
        got = sink.payloads()
        time.sleep(0.3)
        d.run_once()
        assert len(sink.posts) == len(CATALOG)  # once each, nothing repeated
        titles = sorted(p["title"].split(" · ", 2)[2] for p in got)
        assert titles == sorted(title_of(e) for e in CATALOG)
        kinds = {p["title"].split(" · ", 2)[2]: p["type"] for p in got}
        assert (
            kinds["drawdown halt"] == "failure"
            and kinds["feed lost"] == "warning"
            and kinds["policy swapped"] == "info"
        )
        halt = next(p for p in got if p["title"].endswith("drawdown halt"))
        assert halt["title"] == "CRITICAL · xyz:XYZ100 paper · drawdown halt"
        assert halt["message"].startswith("drawdown halt: equity 9,590.00 is 4.11 % below its peak 10,001.00")
        sent = [r for r in read_records(tmp_path / "alerts", kinds={"delivery"}) if r["status"] == "sent"]
        assert len(sent) == len(CATALOG)
    finally:
        d.stop(flush_s=0)


def test_a_storm_is_rate_limited_and_summarised_and_each_url_gets_only_its_levels(tmp_path, sink):
    clock = Clock("2026-03-02 12:00:00")
    journal = Journal(tmp_path, clock=clock)
    everything, critical_only = sink.url(f"all/{TOKEN}"), sink.url(f"crit/{TOKEN}")
    d = Dispatcher(tmp_path, "t", cfg("alerts.rate_limits=[{event: order_refused, seconds: 60}]"),
                   [target(everything), target(critical_only, "critical", 2)], clock=clock)  # fmt: skip
    d.run_once()
    try:
        for i in range(30):
            clock.t += 1
            journal.alert("order_refused", {"error": f"refusal {i}", "is_buy": True, "size": 0.1, "limit_px": 1.0})
        journal.alert("halt", sample_figures()["halt"])
        d.run_once()
        sink.wait(3)  # the first refusal to one URL, the halt to both
        clock.t += 60
        d.run_once()
        sink.wait(4)
        until(d, lambda: not d.pending)
        every = [p["title"] for p in sink.payloads(f"all/{TOKEN}")]
        assert every.count("WARNING · t · order refused") == 1 and "WARNING · t · order refused ×29 more" in every
        assert [p["title"] for p in sink.payloads(f"crit/{TOKEN}")] == ["CRITICAL · t · drawdown halt"]
        assert "refusal 29" in sink.payloads(f"all/{TOKEN}")[-1]["message"]
    finally:
        d.stop(flush_s=0)


def test_quiet_hours_hold_warnings_and_send_a_digest_when_they_end(tmp_path, sink):
    clock = Clock("2026-03-02 23:00:00")
    journal = Journal(tmp_path, clock=clock)
    d = Dispatcher(tmp_path, "t", cfg("alerts.quiet_hours=22:00-07:00"), [target(sink.url())], clock=clock)
    d.run_once()
    try:
        journal.alert("order_refused", sample_figures()["order_refused"])
        journal.alert("emergency_on", sample_figures()["emergency_on"])
        d.run_once()
        assert [p["title"] for p in sink.wait(1)] == ["CRITICAL · t · emergency stop ON"]
        d.run_once(ms("2026-03-03 07:00:00"))
        digest = sink.wait(2)[1]
        assert "1 alert(s) held during quiet hours 22:00-07:00" in digest["title"]
        assert "Insufficient margin" in digest["message"]
    finally:
        d.stop(flush_s=0)


def test_the_daily_summary_arrives_at_its_hour_with_equity_pnl_trades_fees_drawdown_policy_and_grade(tmp_path, sink):
    clock = Clock("2026-03-02 20:00:00")
    journal = Journal(tmp_path, clock=clock)
    for i, eq in enumerate([10_000.0, 10_050.0, 9_950.0, 10_120.0]):
        journal.write("decision", bar=i, action="HOLD", equity=eq)
    journal.write("trade", return_pct=0.5)
    journal.write("trade", return_pct=-0.2)
    journal.write("fill", fee=1.25)
    journal.write("fill", fee=0.75)
    journal.write_status({"running": True, "equity": 10_120.0, "policy_id": "ppo-7", "size_multiplier": 1.1,
                          "position": {"side": 0, "size": 0.0},
                          "risk": {"drawdown_pct": 0.0, "halt_level_pct": 4.0, "opens_blocked": None}})  # fmt: skip
    cycles = tmp_path / "cycles.jsonl"
    cycles.write_text(json.dumps({"cycle": 12, "status": "GOOD"}) + "\n")
    d = Dispatcher(tmp_path, "xyz:XYZ100 paper", cfg("alerts.daily_summary_hour=21"), [target(sink.url())],
                   summary=trader_summary(tmp_path, cycles), clock=clock)  # fmt: skip
    try:
        d.run_once()
        d.run_once(ms("2026-03-02 20:59:59"))
        assert sink.posts == []
        d.run_once(ms("2026-03-02 21:00:00"))
        msg = sink.wait(1)[0]
        assert msg["title"] == "INFO · xyz:XYZ100 paper · daily summary 2026-03-02"
        body = msg["message"]
        assert "equity 10,120.00 (24 h PnL +120.00, +1.20 %)" in body
        assert "2 trades (1 won), fees 2.00" in body and "1.00 % at worst in 24 h" in body
        assert "policy ppo-7 (size x1.1)" in body and "grade GOOD (autopilot cycle 12)" in body
        d.run_once(ms("2026-03-02 23:00:00"))
        time.sleep(0.2)
        assert len(sink.posts) == 1
    finally:
        d.stop(flush_s=0)


def test_a_dead_endpoint_is_retried_with_backoff_then_given_up_journalled_and_never_alerted(tmp_path, caplog):
    clock = Clock("2026-03-02 12:00:00")
    journal = Journal(tmp_path, clock=clock)
    dead = f"json://127.0.0.1:{free_port()}/hook/{TOKEN}"
    d = Dispatcher(tmp_path, "t", cfg("alerts.give_up_after_hours=1"), [target(dead)], clock=clock)
    d.run_once()
    caplog.set_level(logging.DEBUG)
    try:
        journal.alert("halt", sample_figures()["halt"])
        until(d, lambda: any(r["status"] == "failed" for r in read_records(tmp_path / "alerts", kinds={"delivery"})))
        clock.t += 3600  # an hour of failures later
        until(d, lambda: not d.pending)
        deliveries = list(read_records(tmp_path / "alerts", kinds={"delivery"}))
        assert [r["status"] for r in deliveries] == ["failed", "gave_up"]
        assert deliveries[0]["retry_in_s"] == 0.2 and deliveries[0]["target"] == "AML100_ALERT_URLS#1 (json)"
        assert len(list(read_records(tmp_path, kinds={"alert"}))) == 1  # the failure is not an alert of its own
        assert "gave up delivering halt" in caplog.text
    finally:
        d.stop(flush_s=0)
    text = caplog.text + "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".lock")
    assert TOKEN not in text


def test_a_restart_neither_loses_nor_repeats_a_push(tmp_path):
    port = free_port()  # nothing listens yet: the endpoint is down during the first run
    url = f"json://127.0.0.1:{port}/hook/{TOKEN}"
    journal = Journal(tmp_path)
    first = Dispatcher(tmp_path, "t", cfg(), [target(url)])
    first.run_once()
    journal.alert("trader_started", sample_figures()["trader_started"])
    until(first, lambda: any(True for _ in read_records(tmp_path / "alerts", kinds={"delivery"})))
    first.stop(flush_s=0.2)  # undelivered: kept in the state
    assert len(json.loads((tmp_path / "alerts" / "state.json").read_text())["pending"]) == 1
    journal.alert("halt", sample_figures()["halt"])  # written while no dispatcher runs
    sink = Sink(port=port)  # the endpoint is back
    try:
        second = Dispatcher(tmp_path, "t", cfg(), [target(url)])
        second.run_once()
        got = sink.wait(2)
        until(second, lambda: not second.pending)
        second.stop(flush_s=1)
        third = Dispatcher(tmp_path, "t", cfg(), [target(url)])  # a restart with nothing new: nothing sent again
        third.run_once()
        time.sleep(0.3)
        third.stop(flush_s=0.5)
        assert sorted(p["title"] for p in sink.payloads()) == sorted(p["title"] for p in got)
        assert sorted(p["title"].rsplit(" · ", 1)[1] for p in got) == ["drawdown halt", "trader started"]
    finally:
        sink.close()


def test_one_dispatcher_per_folder_a_second_waits_for_the_lock(tmp_path, sink):
    Journal(tmp_path).alert("halt", sample_figures()["halt"])
    a = Dispatcher(tmp_path, "t", cfg(), [target(sink.url())], start_at_end=False)
    b = Dispatcher(tmp_path, "t", cfg(), [target(sink.url())], start_at_end=False)
    a.run_once()
    b.run_once()
    assert a.opened and not b.opened
    sink.wait(1)
    until(a, lambda: not a.pending)
    a.stop(flush_s=0)
    time.sleep(0.2)
    assert len(sink.posts) == 1


def test_python_m_live_alerts_test_says_which_url_worked_and_never_shows_one(tmp_path, sink, monkeypatch, capsys,
                                                                             caplog):  # fmt: skip
    from live.alerts.__main__ import main

    caplog.set_level(logging.DEBUG)
    dead = f"json://127.0.0.1:{free_port()}/dead/{TOKEN}"
    monkeypatch.setenv("AML100_ALERT_URLS", f"{sink.url()} {dead},bogus://{TOKEN}")
    assert main(["test", "--set", "alerts.send_timeout_seconds=2"]) == 1
    out = capsys.readouterr().out
    assert "AML100_ALERT_URLS#1 (json)       sent" in out
    assert "AML100_ALERT_URLS#2 (json)       FAILED" in out and "AML100_ALERT_URLS#3 (bogus)      FAILED" in out
    assert "1 of 3 URL(s) worked" in out
    assert sink.wait(1)[0]["message"].startswith("AML-100 test alert to AML100_ALERT_URLS#1 (json)")
    assert TOKEN not in out + caplog.text
    monkeypatch.delenv("AML100_ALERT_URLS")
    assert main(["test", "--set", "alerts.urls=[{env: AML100_NO_SUCH_VARIABLE}]"]) == 2
    assert "no alert URL configured" in capsys.readouterr().out


def test_python_m_live_alerts_run_pushes_the_folders_it_finds_until_stopped(tmp_path, sink, monkeypatch, capsys):
    import threading

    from live.alerts.__main__ import cmd_run

    root = tmp_path / "live" / "xyz_XYZ100" / "0xabc"
    journal = Journal(root)
    journal.write_status({"coin": "xyz:XYZ100", "mode": "paper", "running": True})
    monkeypatch.setenv("AML100_ALERT_URLS", sink.url())
    params = load_params(overrides=[f"live.journal_dir={tmp_path / 'live'}", f"autopilot.dir={tmp_path / 'ap'}",
                                    "alerts.poll_seconds=0.05"])  # fmt: skip
    stop = threading.Event()
    worker = threading.Thread(target=lambda: cmd_run(params, 0.1, stop), daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while not (root / "alerts" / "state.json").exists():  # opened: from here on, what is written is pushed
            assert time.monotonic() < deadline
            time.sleep(0.05)
        journal.alert("halt", sample_figures()["halt"])
        assert sink.wait(1)[0]["title"] == "CRITICAL · xyz:XYZ100 paper · drawdown halt"
    finally:
        stop.set()
        worker.join(15)
    assert not worker.is_alive()
    out = capsys.readouterr().out
    assert "watching xyz:XYZ100 paper" in out and TOKEN not in out
