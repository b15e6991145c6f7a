"""A damaged state.json: refused with its path when read, moved aside (kept) and the state rebuilt from the journal
and status.json when a trader starts on it; the venue then repairs the rest. Nothing the old state knew is lost."""

from __future__ import annotations

import json

import pytest

from live.control import SetSize
from live.journal import Journal, StateFileError, read_records
from live.rehearsal import make_rig
from live.state import TraderState
from tests.support.trader import RULES_BUSY, crash, restart


def _rules(p):
    from backtest.strategies.rules import RulesStrategy

    return RulesStrategy(p.trading)


def _venue_size(rig) -> float:
    pos = rig.exchange.engine.accounts[rig.trader.id.account].positions.get("xyz:XYZ100")
    return pos.szi if pos else 0.0


def _trade_until_a_trade_closed_and_a_leg_is_open(rig) -> None:
    for _ in range(150):
        rig.advance()
        st = rig.trader.state
        if st.stats.n_trades >= 1 and st.legs and not st.fills_due:
            return
    raise AssertionError("the rules never closed a trade and held a leg")


@pytest.mark.parametrize("damage", ["truncated", "garbage", "wrong fields"])
def test_state_json_read_refuses_damage_naming_the_file(tmp_path, damage):
    j = Journal(tmp_path)
    j.write_state({"version": 1, "legs": [], "saved_ms": 5})
    path = tmp_path / "state.json"
    text = path.read_text()
    path.write_bytes({"truncated": text[: len(text) // 2].encode(), "garbage": b"\x00\xff[1,2",
                      "wrong fields": b"[1, 2, 3]"}[damage])  # fmt: skip
    with pytest.raises(StateFileError, match=str(path)):
        j.read_state()
    kept = j.set_aside_state()
    assert not path.exists() and kept.name.startswith("state.json.bad-") and kept.read_bytes()


def test_resume_takes_a_state_all_or_nothing(params):
    from backtest.strategies.rules import RulesStrategy
    from backtest.strategies.stream import StrategyStream
    from live.state import Policy

    strategy = RulesStrategy(params.trading)
    policy = Policy("p", strategy, None, StrategyStream(strategy, params.trading, 10))
    st = TraderState(policy, 1.0)
    with pytest.raises(ValueError, match="version"):
        st.resume({"version": 99})
    with pytest.raises(ValueError, match="does not hold what it should"):
        st.resume({"version": 1, "size_multiplier": 0.5, "legs": [{"side": "long"}]})
    assert st.legs == [] and st.size_multiplier == 1.0  # nothing taken over


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_trader_restarted_on_a_damaged_state_rebuilds_it_from_the_journal_and_keeps_what_it_knew(tmp_path, damage):
    rig = make_rig(tmp_path, _rules, RULES_BUSY, n_bars=600, history=120)
    try:
        _trade_until_a_trade_closed_and_a_leg_is_open(rig)
        rig.trader.handle(SetSize(0.7, "test"))
        before = json.loads((rig.root / "state.json").read_text())
        crash(rig)
        path = rig.root / "state.json"
        text = path.read_text()
        path.write_text(text[: len(text) // 3] if damage == "truncated" else '{"version": 1, "legs": [{"x": 1}]}')
        trader = restart(rig, _rules)
        after = trader.state
        kept = next(rig.root.glob("state.json.bad-*"))
        assert kept.read_text().startswith(text[:20] if damage == "truncated" else '{"version"')  # kept as it was
        alert = next(r for r in read_records(rig.root, kinds={"alert"}) if r["event"] == "state_rebuilt")
        assert kept.name in alert["message"] and "rebuilt from the journal" in alert["message"]
        assert next(r for r in read_records(rig.root, kinds={"start"}) if r["resumed"])["state"] == "rebuilt"
        # what the old state knew, back from the journal and status.json
        assert [lg.leg_id for lg in after.legs] == [lg["leg_id"] for lg in before["legs"]]
        assert after.position == pytest.approx(_venue_size(rig))
        assert after.stats.n_trades == before["stats"]["n_trades"] and after.stats.n_wins == before["stats"]["n_wins"]
        assert after.stats.sum_win == pytest.approx(before["stats"]["sum_win"])
        assert after.stats.sum_loss == pytest.approx(before["stats"]["sum_loss"])
        assert set(after.seen_tids) == set(before["seen_tids"]) and after.last_fill_ms == before["last_fill_ms"]
        assert after.risk.peak == pytest.approx(before["risk"]["peak"]) and after.size_multiplier == 0.7
        assert after.start_equity == pytest.approx(before["start_equity"])
        assert after.counts["orders"] == before["counts"]["orders"] and after.control_id == before["control_id"]
        reconciles = [r for r in read_records(rig.root, kinds={"reconcile"}) if r["why"] == "start"]
        assert reconciles[-1]["diffs"] == []  # the rebuilt legs are the venue's position and orders
        for _ in range(5):
            rig.advance()
        tids = [r["tid"] for r in read_records(rig.root, kinds={"fill"})]
        assert len(tids) == len(set(tids))  # no fill journalled twice
        trader.shutdown(flatten=True)
        assert _venue_size(rig) == 0
    finally:
        rig.stop()


def test_without_status_json_the_rebuilt_trader_adopts_the_venue_position(tmp_path):
    rig = make_rig(tmp_path, _rules, RULES_BUSY, n_bars=600, history=120)
    try:
        _trade_until_a_trade_closed_and_a_leg_is_open(rig)
        crash(rig)
        (rig.root / "state.json").write_text("{")
        (rig.root / "status.json").unlink()
        trader = restart(rig, _rules)
        assert trader.state.position == pytest.approx(_venue_size(rig)) != 0
        assert all(lg.adopted for lg in trader.state.legs)
        alert = next(r for r in read_records(rig.root, kinds={"alert"}) if r["event"] == "state_rebuilt")
        assert "from the venue (no status.json)" in alert["message"]
    finally:
        rig.stop()
