"""A file's timezone and bar stamp, checked (and when not given, found) against the market's session calendar.

The proxy of a session-bound market trades only in its session (`backtest.venue.calendar`: for xyz:XYZ100 the CME
Globex equity-index hours). Read in the wrong zone, or taken as bar-open times when the vendor stamps the bar's
close, a file puts bars where the futures never trade: in the 17:00-18:00 ET daily break or the weekend. So:

- local (zone-less) times: each zone of `TZ_CANDIDATES` (or `--tz`) is tried on a sample of the bars; the one that
  puts the fewest bars in closed hours wins (ties: the first candidate, US/Eastern, the vendors' usual zone, and
  the import says the zone could not be told from the hours);
- the bar stamp: open (the store's convention) or close (shifted back one bar, so a bar is never taken as seen
  before it closed); given with `--bar-stamp` or the one with fewer bars in closed hours (ties: open);
- the choice is then checked on every bar: more than `tolerance(n)` bars in the daily break or the weekend refuse
  the file, naming them and the zone/stamp that would fit if one does. Bars in holiday hours are kept and counted
  (the calendar knows CME's usual holidays, not every special session).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from backtest.data.vendor.clock import Stamps, localize
from backtest.venue.calendar import DAILY_BREAK, HOLIDAY, OPEN, WEEKEND, SessionCalendar

TZ_CANDIDATES = ("America/New_York", "UTC", "America/Chicago")
STAMPS = ("open", "close")
_SAMPLE = 20_000


def tolerance(n_bars: int) -> int:
    """Bars in closed hours a correct file may still hold (stray prints): max(3, 0.02 %)."""
    return max(3, n_bars // 5000)


@dataclass
class SessionFit:
    """What was chosen and how many bars fall where they should not."""

    tz: str | None  # the zone local times were read in (None: the file gave UTC)
    stamp: str  # "open" | "close"
    closed_rows: np.ndarray  # row indices of bars in the daily break or the weekend
    holiday_bars: int
    alternatives: dict[tuple[str | None, str], int]  # (tz, stamp) -> bars in closed hours (full check or sample)
    notes: list[str] = field(default_factory=list)

    @property
    def closed(self) -> int:
        return len(self.closed_rows)


def _closed(states: np.ndarray) -> np.ndarray:
    return (states == DAILY_BREAK) | (states == WEEKEND)


def _stamp_states(cal: SessionCalendar, ts_ms: np.ndarray, interval_ms: int) -> dict[str, np.ndarray]:
    """States of the bars read as open-stamped and as close-stamped (shifted back one bar).

    Shifted back one bar, a bar whose predecessor is exactly one bar earlier and in session lands on that
    predecessor's time: it is in session too. Only the other bars (after a hole, at a session edge) are looked up.
    """
    st = cal.states(ts_ms)
    shifted = np.full(len(ts_ms), OPEN, dtype=np.int8)
    order_ok = np.r_[False, (np.diff(ts_ms) == interval_ms) & (st[:-1] == OPEN)]
    look = ~order_ok
    shifted[look] = cal.states(ts_ms[look] - interval_ms)
    return {"open": st, "close": shifted}


def fit_session(
    stamps: Stamps,
    interval_ms: int,
    cal: SessionCalendar,
    tz: str | None = None,
    stamp: str | None = None,
) -> tuple[np.ndarray, np.ndarray, SessionFit]:
    """(UTC bar-open ms, rows whose local time is unresolved, the fit) for one file's good timestamps."""
    good = ~stamps.bad
    notes: list[str] = []
    tzs: tuple[str | None, ...]
    if stamps.naive:
        tzs = (tz, *(z for z in TZ_CANDIDATES if z != tz)) if tz else TZ_CANDIDATES
    else:
        tzs = (None,)
        if tz:
            notes.append(f"--tz {tz} ignored: the timestamps carry their zone ({stamps.how})")
    if cal.always_open:
        if stamps.naive and not tz:
            raise ValueError("local timestamps and a market that trades around the clock: give --tz")
        chosen_tz, alternatives = tzs[0], {}
    else:
        chosen_tz, alternatives = _pick_zone(stamps, good, interval_ms, cal, tzs, bool(tz), notes)
    if stamps.naive:
        utc_ns, unresolved = localize(stamps.ns, stamps.bad, chosen_tz)
    else:
        utc_ns, unresolved = stamps.ns, np.zeros(len(stamps.ns), dtype=bool)
    ms = utc_ns // 1_000_000
    ok = good & ~unresolved
    if cal.always_open:
        chosen = stamp or "open"
        fit = SessionFit(chosen_tz, chosen, np.zeros(0, dtype=np.int64), 0, {}, notes)
    else:
        fit = _pick_stamp(ms, ok, interval_ms, cal, chosen_tz, stamp, alternatives, notes)
    if fit.stamp == "close":
        ms = ms - interval_ms
    return np.where(ok, ms, 0), unresolved, fit


def _pick_zone(stamps, good, interval_ms, cal, tzs, given, notes) -> tuple[str | None, dict]:
    rows = np.flatnonzero(good)
    if len(rows) > _SAMPLE:
        rows = rows[np.linspace(0, len(rows) - 1, _SAMPLE).astype(np.int64)]
    scores: dict[tuple[str | None, str], int] = {}
    for zone in tzs:
        if zone is None:
            ms = stamps.ns[rows] // 1_000_000
        else:
            utc, unresolved = localize(stamps.ns[rows], np.zeros(len(rows), dtype=bool), zone)
            ms = (utc // 1_000_000)[~unresolved]
        for name, st in _stamp_states(cal, np.sort(ms), interval_ms).items():
            scores[(zone, name)] = int(_closed(st).sum())
    if len(tzs) == 1 or given:  # a zone given with --tz is used; the others were scored to suggest a fit
        return tzs[0], scores
    best = {zone: min(scores[(zone, s)] for s in STAMPS) for zone in tzs}
    low = min(best.values())
    tied = [zone for zone in tzs if best[zone] <= low + tolerance(len(rows)) // 4]
    if len(tied) > 1:
        notes.append(
            f"the bar hours fit {', '.join(str(z) for z in tied)} alike; read as {tied[0]} (give --tz to be sure)"
        )
    return tied[0], scores


def _pick_stamp(ms, ok, interval_ms, cal, zone, stamp, alternatives, notes) -> SessionFit:
    rows = np.flatnonzero(ok)
    order = np.argsort(ms[rows], kind="stable")
    sorted_ms = ms[rows][order]
    states = _stamp_states(cal, sorted_ms, interval_ms)
    counts = {name: int(_closed(st).sum()) for name, st in states.items()}
    for name, count in counts.items():
        alternatives[(zone, name)] = count
    chosen = stamp or ("close" if counts["close"] < counts["open"] else "open")
    if stamp is None and counts["close"] < counts["open"]:
        notes.append(
            f"bar stamp: close (read as bar-open times, {counts['open']:,} bars fall in the daily break or the "
            f"weekend; shifted back one bar, {counts['close']:,}); give --bar-stamp to override"
        )
    st = states[chosen]
    closed_rows = np.sort(rows[order][_closed(st)])
    return SessionFit(zone, chosen, closed_rows, int((st == HOLIDAY).sum()), alternatives, notes)
