"""Series with holes for the gap rule's tests: a weekend and a daily break cut out of synthetic bars."""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtest.data.synth import generate_bars

MIN = 60_000


def weekend_series(params, days_before=2, gap_hours=49, days_after=2) -> pd.DataFrame:
    """Synthetic 1m bars with one 49-hour hole (a weekend) and one 61-minute hole (the daily break)."""
    bars = generate_bars((days_before + days_after) * 1440 + 61, params.synth, start=pd.Timestamp("2026-03-04"))
    cut = days_before * 1440
    shift = np.zeros(len(bars), dtype=np.int64)
    shift[cut:] = gap_hours * 60 * MIN
    shift[cut + 1440 :] += 60 * MIN  # a 61-minute step: one more hour missing
    ts = bars["timestamp"].to_numpy(dtype="datetime64[ms]").view(np.int64) + shift
    bars["timestamp"] = pd.to_datetime(ts, unit="ms", utc=True).as_unit("ms")
    return bars
