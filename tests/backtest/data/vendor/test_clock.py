"""Local wall-clock times to UTC across the autumn DST change: the repeated hour by its order, never guessed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtest.data.vendor.clock import localize


def _wall(texts: list[str]) -> np.ndarray:
    return pd.DatetimeIndex(pd.to_datetime(texts)).as_unit("ns").asi8


def test_the_repeated_hour_is_resolved_by_its_order_in_the_file():
    texts = ["2024-11-03 00:30", "2024-11-03 01:00", "2024-11-03 01:30", "2024-11-03 01:00", "2024-11-03 01:30",
             "2024-11-03 02:00"]  # fmt: skip
    utc, unresolved = localize(_wall(texts), np.zeros(6, dtype=bool), "America/New_York")
    assert not unresolved.any()
    got = pd.to_datetime(utc, unit="ns", utc=True).strftime("%H:%M").tolist()
    assert got == ["04:30", "05:00", "05:30", "06:00", "06:30", "07:00"]  # EDT twice, then EST


def test_a_repeated_time_that_appears_once_is_named_not_guessed():
    texts = ["2024-11-03 00:59", "2024-11-03 01:30", "2024-11-03 02:01"]
    utc, unresolved = localize(_wall(texts), np.zeros(3, dtype=bool), "America/New_York")
    assert unresolved.tolist() == [False, True, False]
