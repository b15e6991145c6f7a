"""The live trader against the paper exchange, bar by bar: it trades, journals, and its decisions are the
backtester's on the same bars."""

from __future__ import annotations

import numpy as np
import pytest

from backtest.sim import HOLD
from backtest.strategies.rules import RulesStrategy
from live.journal import read_records, read_status
from live.rehearsal import make_rig
from live.replay import replay, sessions
from tests.support.trader import RULES_BUSY


@pytest.fixture
def rules_rig(tmp_path):
    # the daily loss limit is a live-only rule (the simulator has the drawdown halt only): off for parity
    rig = make_rig(tmp_path, lambda p: RulesStrategy(p.trading), [*RULES_BUSY, "live.daily_loss_limit_pct=0"])
    yield rig
    rig.stop()


def test_the_trader_trades_rules_on_paper_and_journals_everything(rules_rig):
    rig = rules_rig
    for _ in range(40):
        assert len(rig.advance()) == 1
    kinds = {r["kind"] for r in read_records(rig.root)}
    assert {"start", "history", "bar", "decision", "order", "ack", "fill", "reconcile"} <= kinds
    fills = list(read_records(rig.root, kinds={"fill"}))
    assert len(fills) >= 4
    status = read_status(rig.root)
    assert status["running"] and status["policy_id"] == "test-policy" and status["counts"]["bars"] == 40
    assert status["feed"]["connected"] and status["last_bar"]["source"] == "paper"
    # a leg's TP/SL triggers end cancelled (leg closed) or filled: none is left shown as resting once it is gone
    legs_open = {lg["leg_id"] for lg in (status.get("position") or {}).get("legs", [])}
    shown = [o for o in rig.trader.state.recent_orders if o.get("tpsl")]
    assert shown and all(o["status"] in ("canceled", "filled") for o in shown if o.get("leg") not in legs_open)


def test_replay_parity_rules_decide_bar_for_bar_as_the_backtester(rules_rig):
    rig = rules_rig
    for _ in range(120):
        rig.advance()
    session = sessions(rig.root)[-1]
    assert len(session.decisions) == 120 and len(session.history) == rig.history
    report = replay(session, "rules", rig.params, rig.objectives)
    print(report.table())
    assert (report.live_actions != HOLD).sum() > 10
    np.testing.assert_array_equal(report.live_actions, report.backtest_actions)
    assert abs(report.live_trades - report.backtest_trades) <= 1
    # entries fill where the simulator fills them, up to the venue's tick and lot rounding
    assert report.entry_diff_bps and max(abs(x) for x in report.entry_diff_bps) < 1.0
    # both charge the venue's schedule (read from the paper exchange, journalled): every fill's fee to the cent
    assert report.fees_agree and report.fee_diffs and report.live_fees > 0
    assert "HIP-3 standard 2x; venue userFees" in report.fee_schedule


@pytest.mark.parametrize("spec", ["ppo", "ensemble"])
def test_replay_parity_trained_policies_decide_bar_for_bar_as_the_backtester(tmp_path, tiny_runs, spec):
    """A trained LSTM policy (and the PPO + DQN ensemble) trading on paper, replayed through the backtester: the
    live path carries the recurrent state and reads the position from the venue, yet takes the same decisions."""
    from rl import checkpoint as ck
    from rl.policy import load_strategy, resolve

    path = str(resolve(spec, tiny_runs)[1] if spec == "ensemble" else ck.latest(tiny_runs, spec))
    # the ensemble's members are barely trained: a high confidence threshold lets its rules fallback trade, so the
    # position state the policies read from the venue is exercised
    threshold = 0.5 if spec == "ensemble" else 0.05
    rig = make_rig(tmp_path, lambda p: load_strategy(path, p), ["live.daily_loss_limit_pct=0",
                                                               f"trading.signal_threshold={threshold}"])  # fmt: skip
    try:
        for _ in range(80):
            rig.advance()
        report = replay(sessions(rig.root)[-1], path, rig.params, rig.objectives)
        print(f"\n{spec}:\n{report.table()}")
        np.testing.assert_array_equal(report.live_actions, report.backtest_actions)
        assert abs(report.live_trades - report.backtest_trades) <= 1
        assert report.fees_agree
        if spec == "ensemble":
            assert report.live_trades > 0
        margins = [d for d in read_records(rig.root, kinds={"decision"})]
        assert all(("margin" in d) or ("ppo_margin" in d) for d in margins)
    finally:
        rig.stop()


def test_an_api_wallet_trades_for_its_master_and_its_key_never_reaches_the_journal(tmp_path):
    """The recommended set-up: the master approves an API (agent) wallet; the trader signs with the agent's key and
    trades the master's account (positions, fills and reconciliation all on the master)."""
    from eth_account import Account
    from hyperliquid.exchange import Exchange

    from live.keys import Signer

    box: dict = {}

    def approve(server, master):
        ex = Exchange(master.wallet, server.url, perp_dexs=["", "xyz"], timeout=5)
        resp, key = ex.approve_agent("aml100")
        assert resp["status"] == "ok"
        box["key"] = key
        return Signer(Account.from_key(key), master.account)

    rig = make_rig(tmp_path, lambda p: RulesStrategy(p.trading), RULES_BUSY, signer_for=approve)
    try:
        assert rig.trader.venue.signer.is_agent
        for _ in range(20):
            rig.advance()
        eng = rig.exchange.engine
        master, agent = rig.trader.id.account, rig.trader.venue.signer.wallet.address.lower()
        assert len(eng.fills.get(master, [])) >= 4 and not eng.fills.get(agent)
        text = "".join(f.read_text() for f in rig.root.iterdir() if f.is_file())
        assert box["key"].removeprefix("0x").lower() not in text.lower()
    finally:
        rig.stop()


@pytest.mark.parametrize("down_bars", [5, 150])
def test_a_restart_journals_the_bars_it_missed_and_how_they_were_backfilled_and_status_shows_it(tmp_path, down_bars):
    from live.dashboard import views
    from live.serve import format_status
    from tests.support.trader import crash, restart

    def rules(p):
        return RulesStrategy(p.trading)

    rig = make_rig(tmp_path, rules, n_bars=600, history=120)
    try:
        for _ in range(3):
            rig.advance()
        last = rig.trader.state.last_bar.time_ms
        crash(rig)
        for _ in range(down_bars):  # the venue goes on while no trader runs
            rig.server.step(4)
        trader = restart(rig, rules)
        (gap,) = list(read_records(rig.root, kinds={"gap"}))
        newest = trader.state.history[-1].time_ms
        assert gap["from"] == last + 60_000 and gap["to"] == newest and gap["traded"] is False
        assert gap["bars"] == (newest - last) // 60_000 >= down_bars
        assert gap["backfilled"].startswith("rest candleSnapshot")
        assert gap["covered"] == min(gap["bars"], 120) and gap["missing"] == gap["bars"] - gap["covered"]
        st = trader.status()
        assert st["gap"]["bars"] == gap["bars"]
        line = next(x for x in format_status(st).splitlines() if x.startswith("gap"))
        assert f"{gap['bars']} bar(s) missed" in line and ("never seen" in line) == (down_bars > 120)
        (alert,) = [a for a in views.alerts(list(read_records(rig.root))) if a["kind"] == "restart_gap"]
        assert f"restart gap: {gap['bars']} bar(s) closed while no trader ran" in alert["text"]
        assert alert["level"] == "warning" and ("never seen" in alert["text"]) == (down_bars > 120)
        rig.advance()
        assert read_status(rig.root)["gap"]["bars"] == gap["bars"]
    finally:
        rig.stop()
