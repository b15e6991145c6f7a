"""Market hours of a HyperLiquid market: when its price follows an outside market, and when it does not.

HyperLiquid trades every market 24/7, but a HIP-3 index perp such as `xyz:XYZ100` is priced from an outside market
only while that market trades. XYZ100's oracle follows NQ (Nasdaq-100 E-mini) futures, converted to spot, during
the CME Globex session; outside it the oracle follows an internal moving average of its own price and the price is
held in a band around it (trade.xyz docs, "perp mechanics"; see /work/shared/reference/hyperliquid-api.md).

The CME Globex session of equity-index futures, in US/Eastern time (DST handled):
- open Sunday 18:00 to Friday 17:00, with a daily maintenance break 17:00-18:00 Monday to Thursday;
- closed on New Year's Day, Good Friday and Christmas Day (from 17:00 the evening before until 18:00 that day);
- an early halt at 13:00 on Martin Luther King Jr. Day, Presidents' Day, Memorial Day, Juneteenth (from 2022),
  Independence Day, Labor Day and Thanksgiving (reopening 18:00 that day), and at 13:15 on the day after
  Thanksgiving and on Christmas Eve (reopening 18:00 on the next trading evening);
- holidays falling on a Saturday are observed the Friday before, on a Sunday the Monday after (New Year's Day on a
  Saturday is not moved).
This is CME's usual pattern, not its published calendar: special closures (a national day of mourning) and
one-off schedule changes are not known to it. Check CME's holiday calendar before relying on a specific day.

Everything is vectorised over UTC bar-open timestamps in milliseconds (the store's `time` column).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd

# Session states, as int8 codes (`SessionCalendar.states`).
OPEN = 0  # the outside market trades: the oracle follows it
DAILY_BREAK = 1  # the outside market's daily maintenance break
WEEKEND = 2  # between Friday's close and Sunday's open
HOLIDAY = 3  # a holiday closure or early halt
STATE_NAMES = ("open", "daily_break", "weekend", "holiday")

_ET = "America/New_York"


@dataclass(frozen=True)
class OffSessionRules:
    """How the venue prices a HIP-3 index perp while its outside market is closed."""

    oracle_ema_seconds: float  # the oracle follows an internal moving average of about this window
    band_frac: float  # the price is held within +/- this fraction of that average


@dataclass(frozen=True)
class SessionCalendar:
    """The trading hours of the outside market a perp follows; `always_open` for markets that never close."""

    name: str
    always_open: bool = False
    off_session: OffSessionRules | None = None

    def states(self, time_ms: np.ndarray) -> np.ndarray:
        """Session state (OPEN, DAILY_BREAK, WEEKEND, HOLIDAY) at each UTC millisecond timestamp, as int8."""
        t = np.asarray(time_ms, dtype=np.int64)
        if self.always_open or t.size == 0:
            return np.zeros(t.shape, dtype=np.int8)
        return _cme_equity_states(t)

    def is_open(self, time_ms: np.ndarray) -> np.ndarray:
        """True where the outside market trades at the timestamp (bar open times: the bar starts in session)."""
        return self.states(time_ms) == OPEN

    def changes(self, start_ms: int, end_ms: int) -> tuple[np.ndarray, np.ndarray]:
        """Times (UTC ms, on whole minutes) in (start_ms, end_ms] where the state changes, and the state from then.

        Every boundary of the calendar falls on a whole minute, so a one-minute grid finds them all exactly.
        """
        if self.always_open or end_ms <= start_ms:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int8)
        first = int(start_ms) - int(start_ms) % 60_000
        grid = first + np.arange((int(end_ms) - first) // 60_000 + 1, dtype=np.int64) * 60_000
        st = self.states(grid)
        idx = np.flatnonzero(st[1:] != st[:-1]) + 1
        keep = grid[idx] > start_ms
        return grid[idx][keep], st[idx][keep]


class SessionClock:
    """A calendar's state and the time to its next change for any bar time, from change points computed a block at
    a time (a lookup per bar costs a binary search, not a calendar evaluation).

    `compute_features` (a whole series) and `FeatureStream` (one bar at a time) both ask it, so they agree exactly.
    """

    def __init__(self, calendar: SessionCalendar, horizon_ms: int, block_days: float = 30.0) -> None:
        self.calendar = calendar
        self.horizon_ms = int(horizon_ms)
        self.block_ms = int(block_days * 86_400_000)
        self._lo = self._hi = 0
        self._times = np.zeros(0, dtype=np.int64)
        self._after = np.zeros(0, dtype=np.int8)
        self._flips = np.zeros(0, dtype=np.int64)
        self._first = OPEN

    def _cover(self, lo: int, hi: int) -> None:
        if self._hi > self._lo and self._lo <= lo and hi <= self._hi:
            return
        start = min(lo, self._lo) if self._hi > self._lo else lo
        end = max(hi, self._hi) + self.block_ms
        begin = start - 60_000
        self._first = int(self.calendar.states(np.array([begin], dtype=np.int64))[0])
        self._times, self._after = self.calendar.changes(begin, end)
        before = np.concatenate(([self._first], self._after[:-1])).astype(np.int8)
        self._flips = self._times[(self._after == OPEN) != (before == OPEN)]  # the session opens or closes
        self._lo, self._hi = start, end

    def states(self, time_ms: np.ndarray) -> np.ndarray:
        """The calendar's state at each time (int8, as `SessionCalendar.states`)."""
        t = np.asarray(time_ms, dtype=np.int64)
        if self.calendar.always_open or t.size == 0:
            return np.zeros(t.shape, dtype=np.int8)
        self._cover(int(t.min()), int(t.max()) + self.horizon_ms)
        k = np.searchsorted(self._times, t, side="right")
        return np.where(k > 0, self._after[np.maximum(k - 1, 0)], self._first).astype(np.int8)

    def until_change_ms(self, time_ms: np.ndarray) -> np.ndarray:
        """Milliseconds from each time to the session's next open or close (a change between two closed states,
        e.g. a weekend running into a holiday, is not one), capped at `horizon_ms` (float64)."""
        t = np.asarray(time_ms, dtype=np.int64)
        if self.calendar.always_open or t.size == 0:
            return np.full(t.shape, float(self.horizon_ms))
        self._cover(int(t.min()), int(t.max()) + self.horizon_ms)
        flips = self._flips
        if flips.size == 0:
            return np.full(t.shape, float(self.horizon_ms))
        k = np.searchsorted(flips, t, side="right")
        delta = np.where(k < flips.size, flips[np.minimum(k, flips.size - 1)] - t, self.horizon_ms)
        return np.minimum(delta.astype(np.float64), float(self.horizon_ms))


ALWAYS_OPEN = SessionCalendar("24/7", always_open=True)
CME_EQUITY_INDEX = SessionCalendar(
    "CME Globex equity-index futures (NQ)",
    off_session=OffSessionRules(oracle_ema_seconds=3600.0, band_frac=0.035),
)

# Which outside market each HIP-3 perp follows; every other market trades 24/7 on its own prices.
MARKET_CALENDARS: dict[str, SessionCalendar] = {"xyz:XYZ100": CME_EQUITY_INDEX}


def calendar_for(coin: str) -> SessionCalendar:
    """The session calendar of `coin` (24/7 unless its price follows an outside market)."""
    return MARKET_CALENDARS.get(coin, ALWAYS_OPEN)


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ll = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ll) // 451
    month = (h + ll - 7 * m + 114) // 31
    day = (h + ll - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (1-based; -1 = last) given weekday (Mon=0) of a month."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(d: date, move_saturday: bool = True) -> date | None:
    if d.weekday() == 5:
        return d - timedelta(days=1) if move_saturday else None
    if d.weekday() == 6:
        return d + timedelta(days=1)
    return d


@lru_cache(maxsize=64)
def holiday_closures(year: int) -> tuple[tuple[pd.Timestamp, pd.Timestamp], ...]:
    """The year's holiday closures as [start, end) intervals in US/Eastern local time (tz-aware)."""

    def at(d: date, hour: int, minute: int = 0) -> pd.Timestamp:
        return pd.Timestamp(d.year, d.month, d.day, hour, minute, tz=_ET)

    out: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    full = [_observed(date(year, 1, 1), move_saturday=False), _easter(year) - timedelta(days=2)]
    full.append(_observed(date(year, 12, 25)))
    for d in full:
        if d is not None:
            out.append((at(d - timedelta(days=1), 17), at(d, 18)))
    early = [
        _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),  # Presidents' Day
        _nth_weekday(year, 5, 0, -1),  # Memorial Day
        _observed(date(year, 7, 4)),  # Independence Day
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
    ]
    if year >= 2022:
        early.append(_observed(date(year, 6, 19)))  # Juneteenth
    for d in early:
        if d is not None:
            out.append((at(d, 13), at(d, 18)))
    thanksgiving = _nth_weekday(year, 11, 3, 4)
    for d in (thanksgiving + timedelta(days=1), date(year, 12, 24)):
        if d.weekday() < 5:  # halted from 13:15; the weekend, the break or a closure covers the evening after
            out.append((at(d, 13, 15), at(d, 18)))
    return tuple(sorted(out))


def _cme_equity_states(t: np.ndarray) -> np.ndarray:
    local = pd.DatetimeIndex(pd.to_datetime(t, unit="ms", utc=True)).tz_convert(_ET)
    dow = np.asarray(local.dayofweek)  # Monday = 0
    minute = np.asarray(local.hour) * 60 + np.asarray(local.minute)
    states = np.full(t.shape, OPEN, dtype=np.int8)
    weekend = (dow == 5) | ((dow == 4) & (minute >= 17 * 60)) | ((dow == 6) & (minute < 18 * 60))
    brk = (dow <= 3) & (minute >= 17 * 60) & (minute < 18 * 60)
    states[brk] = DAILY_BREAK
    states[weekend] = WEEKEND
    order = None if t.size < 2 or bool(np.all(t[1:] >= t[:-1])) else np.argsort(t, kind="stable")
    ts = t if order is None else t[order]
    hol = np.zeros(t.shape, dtype=bool)
    for year in range(int(local.year.min()) - 1, int(local.year.max()) + 2):
        for start, end in holiday_closures(year):
            lo = np.searchsorted(ts, start.value // 1_000_000, side="left")
            hi = np.searchsorted(ts, end.value // 1_000_000, side="left")
            hol[lo:hi] = True
    if order is not None:
        hol[order] = hol.copy()
    states[hol & (states == OPEN)] = HOLIDAY
    return states
