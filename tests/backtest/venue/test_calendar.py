"""The market calendar: when XYZ100's price follows NQ futures, in US/Eastern time across DST changes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtest.venue.calendar import (
    ALWAYS_OPEN,
    CME_EQUITY_INDEX,
    DAILY_BREAK,
    HOLIDAY,
    OPEN,
    WEEKEND,
    calendar_for,
    holiday_closures,
)


def ms(text: str, tz: str = "America/New_York") -> int:
    return pd.Timestamp(text, tz=tz).value // 1_000_000


def state(text: str) -> int:
    return int(CME_EQUITY_INDEX.states(np.array([ms(text)]))[0])


def test_session_opens_sunday_18_00_eastern_and_closes_friday_17_00():
    assert state("2026-03-01 17:59") == WEEKEND  # a Sunday
    assert state("2026-03-01 18:00") == OPEN
    assert state("2026-03-06 16:59") == OPEN  # a Friday
    assert state("2026-03-06 17:00") == WEEKEND
    assert state("2026-03-07 12:00") == WEEKEND  # Saturday


def test_daily_break_is_17_to_18_eastern_monday_to_thursday_only():
    for day in ("2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"):
        assert state(f"{day} 16:59") == OPEN
        assert state(f"{day} 17:00") == DAILY_BREAK
        assert state(f"{day} 17:59") == DAILY_BREAK
        assert state(f"{day} 18:00") == OPEN


def test_break_follows_eastern_time_across_the_dst_change():
    # US DST starts 2026-03-08: the 17:00 ET break is 22:00 UTC before and 21:00 UTC after
    before = CME_EQUITY_INDEX.states(np.array([ms("2026-03-05 22:00", "UTC")]))[0]
    after = CME_EQUITY_INDEX.states(np.array([ms("2026-03-09 21:00", "UTC")]))[0]
    assert before == DAILY_BREAK and after == DAILY_BREAK
    assert CME_EQUITY_INDEX.states(np.array([ms("2026-03-09 22:00", "UTC")]))[0] == OPEN


def test_good_friday_and_christmas_are_closed_and_thanksgiving_halts_early():
    assert state("2026-04-02 17:30") in (HOLIDAY, DAILY_BREAK)
    assert state("2026-04-02 20:00") == HOLIDAY  # Thursday evening before Good Friday (2026-04-03)
    assert state("2026-04-03 11:00") == HOLIDAY
    assert state("2025-12-25 10:00") == HOLIDAY  # a Thursday
    assert state("2025-12-25 18:00") == OPEN
    assert state("2026-11-26 12:59") == OPEN  # Thanksgiving
    assert state("2026-11-26 13:00") == HOLIDAY
    assert state("2026-11-26 18:00") == OPEN


def test_holidays_on_a_weekend_are_observed_on_a_weekday():
    # Independence Day 2026 is a Saturday: observed Friday 2026-07-03 (early halt at 13:00)
    starts = {start.date().isoformat() for start, _ in holiday_closures(2026)}
    assert "2026-07-03" in starts


def test_unsorted_timestamps_get_the_same_states_as_sorted():
    rng = np.random.default_rng(0)
    t = np.sort(rng.integers(ms("2025-12-20 00:00"), ms("2027-01-10 00:00"), 5000)) // 60_000 * 60_000
    perm = rng.permutation(t.size)
    assert np.array_equal(CME_EQUITY_INDEX.states(t)[perm], CME_EQUITY_INDEX.states(t[perm]))


def test_a_week_of_minutes_has_the_expected_open_share():
    t = np.arange(ms("2026-03-15 00:00"), ms("2026-03-22 00:00"), 60_000)  # Sunday to Sunday, no holiday
    share = CME_EQUITY_INDEX.is_open(t).mean()
    assert share == (5 * 24 - 4 - 1) * 60 / t.size  # 23 h x 4 + 23 h (Sun 18:00..) ... = 115 h of 168 h


def test_crypto_markets_never_close_and_xyz100_follows_cme():
    assert calendar_for("BTC") is ALWAYS_OPEN
    assert calendar_for("xyz:XYZ100") is CME_EQUITY_INDEX
    assert ALWAYS_OPEN.is_open(np.array([ms("2026-12-25 10:00")])).all()


def test_the_session_clock_agrees_with_the_calendar_and_times_the_next_open_or_close():
    from backtest.venue.calendar import SessionClock

    ts = ms("2025-12-20 00:00", "UTC") + np.arange(30 * 1440, dtype=np.int64) * 60_000  # Christmas, New Year
    clock = SessionClock(CME_EQUITY_INDEX, 72 * 3_600_000, block_days=5)
    np.testing.assert_array_equal(clock.states(ts), CME_EQUITY_INDEX.states(ts))
    is_open = CME_EQUITY_INDEX.is_open(ts)
    flips = np.flatnonzero(is_open[1:] != is_open[:-1]) + 1  # closed-to-closed changes (weekend -> holiday) skipped
    for i in range(0, len(ts) - 72 * 60, 397):
        nxt = flips[flips > i]
        want = min(ts[nxt[0]] - ts[i] if nxt.size else 1e18, 72 * 3_600_000)
        assert clock.until_change_ms(ts[i : i + 1])[0] == want
    bar_by_bar = SessionClock(CME_EQUITY_INDEX, 72 * 3_600_000)
    assert [int(bar_by_bar.states(ts[i : i + 1])[0]) for i in range(0, 3000, 7)] == list(clock.states(ts[:3000:7]))
    always = SessionClock(ALWAYS_OPEN, 1000)
    assert (always.states(ts[:5]) == OPEN).all() and (always.until_change_ms(ts[:5]) == 1000).all()
