"""Hybrid series: real bars where the store has them, calibrated synthetic bars before them.

The synthetic part covers [start, first real bar) and is generated with parameters blended from the real bars
(`calibrate.blend`, weight `params.backtest.real_weight`), then scaled so that its last close equals the first
real open: prices are continuous at the seam. Gaps inside the real part are left as gaps (reported, not filled).
Every bar keeps its `source` label, so the share of real bars is always known.
"""

from __future__ import annotations

import pandas as pd

from backtest.config import Params
from backtest.data.calibrate import MIN_BARS, blend, calibrate
from backtest.data.schema import PRICE_COLUMNS, DataError, conform, validate_bars
from backtest.data.synth import generate_bars


def build_hybrid(real: pd.DataFrame, params: Params, start: pd.Timestamp, interval_s: int) -> tuple[pd.DataFrame, dict]:
    """Join synthetic bars for [start, first real bar) to `real`; returns (bars, blended synth config as a dict)."""
    if len(real) < MIN_BARS:
        raise DataError(
            f"hybrid data needs at least {MIN_BARS} real bars to calibrate the synthetic part, the store has "
            f"{len(real)}; get more with `python -m backtest.data fetch` or `python -m backtest.data record`"
        )
    cfg = blend(params.synth, calibrate(real, interval_s), params.backtest.real_weight)
    first = real["timestamp"].iloc[0]
    n_pre = max(0, int((first - pd.Timestamp(start)).total_seconds()) // interval_s)
    if n_pre == 0:
        return validate_bars(conform(real), "hybrid bars"), cfg.model_dump()
    pre_start = first - pd.Timedelta(seconds=n_pre * interval_s)
    synth = generate_bars(n_pre, cfg, start=pre_start, interval_s=interval_s, seed=params.synth.seed)
    factor = float(real["open"].iloc[0]) / float(synth["close"].iloc[-1])
    for col in PRICE_COLUMNS:
        synth[col] = synth[col] * factor
    bars = pd.concat([synth, conform(real)], ignore_index=True)
    return validate_bars(bars, "hybrid bars"), cfg.model_dump()
