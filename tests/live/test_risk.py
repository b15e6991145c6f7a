"""The live risk rules as pure functions: the simulator's drawdown halt, the daily loss limit, the breaker, caps."""

from __future__ import annotations

import pytest

from live import risk
from tests.support.risk import LIMITS

DAY = 1_795_000_000_000  # some UTC day, ms
HOUR = 3_600_000


def test_the_drawdown_halt_fires_where_the_simulator_s_does_and_stays():
    st, _ = risk.on_bar_close(risk.RiskState(), 10_000.0, DAY, LIMITS)
    st, ev = risk.on_bar_close(st, 10_500.0, DAY + 1, LIMITS)
    assert st.peak == 10_500.0 and not ev
    st, ev = risk.on_bar_close(st, 10_500.0 * 0.9601, DAY + 2, LIMITS)  # 3.99 % down: not yet
    assert not st.halted
    st, ev = risk.on_bar_close(st, 10_500.0 * 0.96, DAY + 3, LIMITS)  # exactly 4 %: the kernel's `<=`
    assert st.halted and [e.kind for e in ev] == ["halt"] and ev[0].detail["drawdown_pct"] == pytest.approx(4.0)
    st, _ = risk.on_bar_close(st, 11_000.0, DAY + 4, LIMITS)
    assert st.halted and risk.opens_blocked(st, DAY) == "drawdown halt"


def test_the_daily_loss_limit_stops_opens_until_the_next_utc_day():
    st, _ = risk.on_bar_close(risk.RiskState(), 10_000.0, DAY, LIMITS)
    st, ev = risk.on_bar_close(st, 9_700.0, DAY + HOUR, LIMITS)
    assert st.daily_stop and [e.kind for e in ev] == ["daily_stop"]
    st, ev = risk.on_bar_close(st, 9_690.0, DAY + 25 * HOUR, LIMITS)
    assert not st.daily_stop and "daily_reset" in [e.kind for e in ev] and st.day_start_equity == 9_690.0


def test_the_breaker_opens_after_consecutive_failures_and_closes_on_success():
    st = risk.RiskState()
    for i in range(2):
        st, ev = risk.on_exchange_call(st, False, DAY + i, LIMITS)
        assert not ev
    st, ev = risk.on_exchange_call(st, False, DAY + 2, LIMITS)
    assert [e.kind for e in ev] == ["breaker_open"] and risk.opens_blocked(st, DAY + 3) == "circuit breaker"
    assert risk.opens_blocked(st, DAY + 61_000 + 2) is None  # paused for breaker_pause_s only
    st, ev = risk.on_exchange_call(st, True, DAY + 5, LIMITS)
    assert [e.kind for e in ev] == ["breaker_closed"] and st.failures == 0


def test_the_emergency_stop_wins_over_everything():
    st = risk.RiskState(halted=True, daily_stop=True)
    st, ev = risk.on_emergency(st, True)
    assert risk.opens_blocked(st, DAY) == "emergency stop" and [e.kind for e in ev] == ["emergency_on"]
    st, ev = risk.on_emergency(st, False)
    assert [e.kind for e in ev] == ["emergency_off"] and risk.opens_blocked(st, DAY) == "drawdown halt"


@pytest.mark.parametrize(
    ("size", "position_notional", "legs", "expected", "why"),
    [
        (0.1, 0.0, 0, 0.1, None),  # 2,000 USD: under both caps
        (0.5, 0.0, 0, 0.25, "max_order_notional"),  # 10,000 USD -> 5,000
        (0.2, 17_000.0, 0, 0.15, "max_leverage"),  # 2 x 10,000 equity - 17,000 held = 3,000 of room
        (0.1, 0.0, 1, 0.0, "max_positions"),
    ],
)
def test_opening_orders_are_cut_to_the_caps(size, position_notional, legs, expected, why):
    got, reason = risk.cap_open_size(size, 20_000.0, 10_000.0, position_notional, legs, LIMITS)
    assert got == pytest.approx(expected)
    assert (reason is None) if why is None else (why in reason)


def test_a_closed_session_blocks_opens_only_when_told_not_to_trade_it():
    from live.risk import session_blocks_opens

    assert session_blocks_opens(True, False) is None  # the market is 24/7: trading closed sessions is the default
    assert session_blocks_opens(False, True) is None
    assert session_blocks_opens(False, False) == "session closed"
