"""Alerts from a real trader on the paper exchange: they reach a loopback endpoint, a restart after a crash says so,
and a dead endpoint (refusing, or holding every request past the timeout) does not delay a bar."""

from __future__ import annotations

import json
import logging
import statistics
import time

import pytest

from backtest.config import load_params
from live.alerts.dispatcher import Dispatcher
from live.alerts.targets import Target
from live.journal import read_records
from live.rehearsal import make_rig
from tests.support.alerts import TOKEN, Sink, free_port, sample_figures
from tests.support.trader import RULES_BUSY


def _rules(p):
    from backtest.strategies.rules import RulesStrategy

    return RulesStrategy(p.trading)


def cfg(*sets: str):
    base = ["alerts.poll_seconds=0.05", "alerts.send_timeout_seconds=1"]
    return load_params(overrides=[*base, *sets]).alerts


@pytest.fixture
def rig(tmp_path):
    r = make_rig(tmp_path, _rules, [*RULES_BUSY, "live.daily_loss_limit_pct=0"], n_bars=500, history=200)
    yield r
    r.stop()


def test_a_trader_pushes_its_start_the_emergency_stop_on_and_off_and_its_stop(rig, tmp_path):
    sink = Sink()
    d = Dispatcher(rig.root, "xyz:XYZ100 paper", cfg(), [Target("U#1 (json)", "json", "info", sink.url())],
                   start_at_end=False).start()  # fmt: skip
    try:
        rig.advance()
        stop_file = tmp_path / "EMERGENCY_STOP"
        stop_file.write_text("stop")
        rig.advance()
        stop_file.unlink()
        rig.advance()
        rig.stop()
        sink.wait(4)
        d.stop(flush_s=5)
        titles = [p["title"].rsplit(" · ", 1)[1] for p in sink.payloads()]
        wanted = ["trader started", "emergency stop ON", "emergency stop off", "trader stopped"]
        assert [t for t in titles if t in wanted] == wanted
        on = next(p for p in sink.payloads() if p["title"].endswith("emergency stop ON"))
        assert f"rm {stop_file}" in on["message"] and on["type"] == "failure"
    finally:
        d.stop(flush_s=0)
        sink.close()


def test_a_trader_restarted_after_a_crash_says_so(tmp_path):
    root = tmp_path / "live"
    root.mkdir()
    (root / "status.json").write_text(json.dumps({"running": True, "pid": 999_999, "updated_ms": 1_772_400_000_000}))
    r = make_rig(tmp_path, _rules, RULES_BUSY, n_bars=400, history=200)
    try:
        events = [a["event"] for a in read_records(root, kinds={"alert"})]
        assert events[0] == "trader_restarted"
        msg = next(read_records(root, kinds={"alert"}))["message"]
        assert "pid 999999" in msg and "never stopped" in msg
        assert r.trader.status()["alerts"][0]["event"] == "trader_restarted"
    finally:
        r.stop()
    events = [a["event"] for a in read_records(root, kinds={"alert"})]
    assert events[-1] == "trader_stopped"


def _timed(on_bar, times: list[float]):
    def timed(bar, actionable=True):
        t0 = time.perf_counter()
        out = on_bar(bar, actionable)
        times.append(time.perf_counter() - t0)
        return out

    return timed


def test_a_dead_endpoint_does_not_delay_a_bar(rig, caplog, capsys):
    """Bars decided with no dispatcher, and with one pushing a fresh alert every bar to a refusing port and to an
    endpoint that holds every request past the timeout (retried after 0.1 s, doubling to 1 s): the bar's decision
    latency (on_bar) stays within noise, and no bar waits for a delivery."""
    caplog.set_level(logging.DEBUG)
    slow = Sink(delay_s=3.0)
    dead = f"json://127.0.0.1:{free_port()}/hook/{TOKEN}"
    targets = [Target("U#1 (json)", "json", "info", dead), Target("U#2 (json)", "json", "info", slow.url())]
    c = cfg("alerts.rate_limit_seconds=0", "alerts.retry_first_seconds=0.1", "alerts.retry_max_seconds=1")
    quiet: list[float] = []
    loaded: list[float] = []
    on_bar = rig.trader.on_bar
    rig.advance()
    try:
        for block in range(4):  # alternate, so both see the same kind of bars and the same machine load
            with_dispatcher = block % 2 == 1
            times = loaded if with_dispatcher else quiet
            rig.trader.on_bar = _timed(on_bar, times)
            d = Dispatcher(rig.root, "t", c, targets).start() if with_dispatcher else None
            for i in range(10):
                rig.trader.journal.alert("order_refused", {**sample_figures()["order_refused"], "error": f"e{i}"})
                rig.advance()
            if d is not None:
                d.stop(flush_s=0)
    finally:
        slow.close()
    med_q, med_l = statistics.median(quiet), statistics.median(loaded)
    p90_q, p90_l = (statistics.quantiles(x, n=10)[-1] for x in (quiet, loaded))
    worst_q, worst_l = max(quiet), max(loaded)
    failed = [r for r in read_records(rig.root / "alerts", kinds={"delivery"}) if r["status"] == "failed"]
    assert len({r["target"] for r in failed}) == 2 and len(failed) >= 20  # both endpoints kept failing meanwhile
    # a delivery on the bar's path would cost a bar >= 1 s (the timeout) against the endpoint that holds requests
    assert worst_l < worst_q + 0.5
    assert med_l <= 1.5 * med_q + 0.020  # within the noise of a shared machine
    files = "".join(p.read_text() for p in rig.root.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl"))
    assert TOKEN not in caplog.text + capsys.readouterr().out + files
    print(f"\non_bar ms: no dispatcher median {1e3 * med_q:.1f} p90 {1e3 * p90_q:.1f} | dead endpoints median "
          f"{1e3 * med_l:.1f} p90 {1e3 * p90_l:.1f} max {1e3 * worst_q:.0f} / {1e3 * worst_l:.0f} "
          f"({len(quiet)} / {len(loaded)} bars)")  # fmt: skip
