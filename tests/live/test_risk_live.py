"""Risk controls on the paper exchange: the emergency-stop file flattens within one bar and blocks opens until
removed; the drawdown halt blocks new opens (closes still allowed), as in the simulator."""

from __future__ import annotations

import dataclasses

from live.journal import read_records
from live.rehearsal import make_rig
from tests.support.trader import RULES_BUSY


def _rules(p):
    from backtest.strategies.rules import RulesStrategy

    return RulesStrategy(p.trading)


def _venue_size(rig) -> float:
    acct = rig.exchange.engine.accounts[rig.trader.id.account]
    pos = acct.positions.get("xyz:XYZ100")
    return pos.szi if pos else 0.0


def test_emergency_stop_file_flattens_within_one_bar_and_blocks_opens_until_removed(tmp_path):
    # long holds: positions stay open across bars, so there is something to flatten
    rig = make_rig(tmp_path, _rules, [*RULES_BUSY, "trading.max_hold_seconds=0", "trading.take_profit_pct=50",
                                      "trading.stop_loss_pct=50"])  # fmt: skip
    try:
        for _ in range(60):
            rig.advance()
            if abs(_venue_size(rig)) > 0:
                break
        assert abs(_venue_size(rig)) > 0, "the rules never opened a position"
        stop_file = tmp_path / "EMERGENCY_STOP"
        stop_file.write_text("stop")
        rig.advance()  # within one bar
        assert _venue_size(rig) == 0
        assert not rig.exchange.engine.open_orders.get(rig.trader.id.account)
        opens_before = sum(1 for r in read_records(rig.root, kinds={"order"}) if r.get("reason") == "open")
        for _ in range(15):
            rig.advance()
        opens_during = sum(1 for r in read_records(rig.root, kinds={"order"}) if r.get("reason") == "open")
        assert opens_during == opens_before and _venue_size(rig) == 0
        assert rig.trader.status()["risk"]["emergency"] is True
        stop_file.unlink()
        for _ in range(40):
            rig.advance()
        opens_after = sum(1 for r in read_records(rig.root, kinds={"order"}) if r.get("reason") == "open")
        assert opens_after > opens_during
        events = [r["event"] for r in read_records(rig.root, kinds={"risk"})]
        assert "emergency_on" in events and "emergency_off" in events
    finally:
        rig.stop()


def test_drawdown_halt_blocks_new_opens_but_lets_positions_close(tmp_path):
    rig = make_rig(tmp_path, _rules, [*RULES_BUSY, "live.daily_loss_limit_pct=0"],
                   )  # fmt: skip
    rig.trader.risk.limits = dataclasses.replace(rig.trader.risk.limits, auto_stop_frac=0.003)
    try:
        halted_at = None
        for i in range(150):
            rig.advance()
            if rig.trader.state.risk.halted and halted_at is None:
                halted_at = i
            if halted_at is not None and i > halted_at + 20:
                break
        assert halted_at is not None, "a 0.3 % drawdown halt never fired"
        records = list(read_records(rig.root))
        halt_ts = next(r["ts"] for r in records if r["kind"] == "risk" and r["event"] == "halt")
        opens_after = [r for r in records if r["kind"] == "order" and r.get("reason") == "open" and r["ts"] > halt_ts]
        assert opens_after == []
        blocked = [r for r in records if r["kind"] == "decision" and r["ts"] > halt_ts and r["action"] != "HOLD"]
        assert blocked and all(r["blocked"] == "drawdown halt" for r in blocked)
        assert _venue_size(rig) == 0  # the position open at the halt was closed (max hold), none opened since
    finally:
        rig.stop()
