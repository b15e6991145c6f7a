"""Where a bar series breaks, and the one rule every consumer follows there.

Bars are stepped by index, one interval apart. A series with holes (a proxy index's bars stop for the futures'
daily break, weekends and holidays; a recorder can miss minutes) is not one interval apart everywhere. The rule:

- A **break** is a step between consecutive bars longer than `max(BREAK_AFTER_S, one bar)` (15 minutes on 1-minute
  bars): a closed session or an outage. Shorter holes (a few minutes without trades) are stepped over as if the
  bars were adjacent, as before.
- **No position is held across a break.** Backtest segments end at the last bar before it (positions close at that
  bar's close, reason `end`, costs charged) and the next segment starts flat at the first bar after it
  (`backtest.segments.plan_segments`); RL episodes end there too (`rl.env`). No price, funding, stop or max hold is
  invented for the hours without bars.
- **Indicators and features run over the bars that exist** (bar-indexed, as on any futures chart): the first bar
  after a break carries the whole move since the last bar in its one-bar return. That is also what the live
  XYZ100 market shows at a reopening (its 24/7 bars jump when the oracle follows the futures again); the weekend
  bars that the proxy lacks are what `--data hybrid` fills (labelled synthetic).
- **Time is calendar time** (`backtest.metrics`): days, monthly returns and trades per day count the hours a span
  covers, gaps included (the account is flat there), and the Sharpe ratio is annualised by the bars a year of this
  series holds (for 24/7 bars that is the usual 525,600 a year).

Pure numpy over int64 UTC millisecond bar open times (no pandas: Ray workers import this).
"""

from __future__ import annotations

import numpy as np

BREAK_AFTER_S = 15 * 60


def break_after_ms(bar_seconds: int) -> int:
    """The longest step between two bars that is still not a break, in ms."""
    return max(BREAK_AFTER_S, int(bar_seconds)) * 1000


def breaks(ts_ms: np.ndarray, bar_seconds: int) -> np.ndarray:
    """Indices i (1..n-1) of the first bar after each break: ts[i] - ts[i-1] > break_after_ms(bar_seconds)."""
    ts = np.asarray(ts_ms, dtype=np.int64)
    if ts.size < 2:
        return np.zeros(0, dtype=np.int64)
    return (np.flatnonzero(np.diff(ts) > break_after_ms(bar_seconds)) + 1).astype(np.int64)


def runs(ts_ms: np.ndarray, bar_seconds: int) -> list[tuple[int, int]]:
    """[start, end) index ranges of the unbroken runs of bars, in order (one run for a series without breaks)."""
    n = len(ts_ms)
    if n == 0:
        return []
    cuts = [0, *breaks(ts_ms, bar_seconds).tolist(), n]
    return [(cuts[k], cuts[k + 1]) for k in range(len(cuts) - 1)]


def run_end(break_indices: np.ndarray, n_bars: int, start: int) -> int:
    """End (exclusive) of the unbroken run that holds bar `start`, given `breaks(...)` of a series of `n_bars`."""
    k = int(np.searchsorted(break_indices, start, side="right"))
    return int(break_indices[k]) if k < len(break_indices) else int(n_bars)


def covered_seconds(ts_ms: np.ndarray, bar_seconds: int) -> float:
    """Calendar seconds from the first bar's open to the last bar's close (n bars x interval without gaps)."""
    ts = np.asarray(ts_ms, dtype=np.int64)
    if ts.size == 0:
        return 0.0
    return float(ts[-1] - ts[0]) / 1000.0 + float(bar_seconds)
