"""Reconciliation as a pure function: the venue is the truth; expected trigger fills are not differences."""

from __future__ import annotations

from backtest.domain import OpenOrder, Position
from live.positions import Leg
from live.reconcile import reconcile

LOT = 1e-4


def leg(i: int, side: int = 1, size: float = 0.2) -> Leg:
    return Leg(f"leg{i}", side, size, 20000.0, 100, 10000.0, 20100.0, 19950.0)


def trig(lg: Leg, kind: str) -> OpenOrder:
    return OpenOrder("xyz:XYZ100", 1, lg.trigger_cloid(kind), lg.side < 0, lg.size, 1.0, True, 1.0, kind)


def adopt(side, size, entry, bar):
    return Leg(f"adopted-{bar}", side, size, entry, bar, 0.0, entry * 1.005, entry * 0.9975, adopted=True)


def test_matching_position_and_triggers_is_clean():
    a = leg(1)
    res = reconcile([a], Position("xyz:XYZ100", 0.2, 20000.0), [trig(a, "tp"), trig(a, "sl")], 101, LOT, adopt)
    assert res.clean and res.legs == [a]


def test_a_fired_stop_is_expected_and_its_take_profit_is_cancelled_quietly():
    a = leg(1)
    res = reconcile([a], None, [trig(a, "tp")], 101, LOT, adopt)
    assert res.legs == [] and res.fired == ["leg1"] and res.diffs == []
    assert [o.cloid for o in res.cancel] == [a.tp_cloid]


def test_a_position_closed_behind_the_traders_back_is_a_difference():
    a = leg(1)
    res = reconcile([a], None, [trig(a, "tp"), trig(a, "sl")], 101, LOT, adopt)
    assert res.legs == [] and [d["kind"] for d in res.diffs] == ["venue_flat"]


def test_an_unknown_venue_position_is_adopted_with_fresh_triggers():
    res = reconcile([], Position("xyz:XYZ100", -0.3, 20010.0), [], 101, LOT, adopt)
    (new,) = res.legs
    assert new.adopted and new.side == -1 and new.size == 0.3 and new.entry_bar == 101
    assert sorted(k for _, k in res.place) == ["sl", "tp"] and res.diffs[0]["kind"] == "adopted"


def test_orphan_orders_are_cancelled_and_missing_triggers_replaced_with_a_new_cloid():
    a = leg(1)
    stray = OpenOrder("xyz:XYZ100", 9, "0x" + "9" * 32, True, 1.0, 1.0, False)
    res = reconcile([a], Position("xyz:XYZ100", 0.2, 20000.0), [trig(a, "tp"), stray], 101, LOT, adopt)
    assert [o.cloid for o in res.cancel] == [stray.cloid]
    (kept,) = res.legs
    assert kept.sl_rev == 1 and kept.tp_rev == 0 and kept.sl_cloid != a.sl_cloid
    assert res.place == [(kept, "sl")]
    assert {d["kind"] for d in res.diffs} == {"orphan_orders", "missing_triggers"}


def test_one_of_two_legs_closed_by_its_trigger_keeps_the_other():
    a, b = leg(1), leg(2)
    orders = [trig(b, "tp"), trig(b, "sl"), trig(a, "tp")]
    res = reconcile([a, b], Position("xyz:XYZ100", 0.2, 20000.0), orders, 101, LOT, adopt)
    assert res.legs == [b] and res.fired == ["leg1"] and res.diffs == []
