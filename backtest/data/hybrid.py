"""Hybrid series: real HyperLiquid bars first, then proxy bars, then labelled synthetic bars for the rest.

Over the requested span [start, end):
1. real bars of the market where the store has them (`real/`);
2. proxy bars (another market's real bars mapped to this one, `proxy/`) at the bar times without a real bar;
3. synthetic bars everywhere else, so the series has no gaps:
   - the holes between the first and the last real/proxy bar (closed sessions, missing minutes) are filled by
     `gapfill.fill_gaps` from the bars before each hole (the venue's off-session rule in closed hours);
   - the span before any real or proxy bar is generated with parameters blended from the real/proxy bars
     (`calibrate.blend`, weight `params.backtest.real_weight`), then scaled so that its last close equals the first
     real/proxy open: prices are continuous at the seam.
Every bar keeps its `source` label (hyperliquid / recorded / proxy / synthetic), so the shares are always known.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from backtest.config import Params
from backtest.data.calibrate import MIN_BARS, blend, calibrate
from backtest.data.gapfill import fill_gaps
from backtest.data.schema import PRICE_COLUMNS, DataError, conform, validate_bars
from backtest.data.synth import generate_bars
from backtest.venue.calendar import calendar_for


def build_hybrid(
    base: pd.DataFrame, params: Params, start: pd.Timestamp, interval_s: int
) -> tuple[pd.DataFrame, dict, dict[str, Any]]:
    """Real/proxy bars `base` completed to a gapless series from `start`; returns (bars, blended synth config as a
    dict, what the gap fill did)."""
    if len(base) < MIN_BARS:
        raise DataError(
            f"hybrid data needs at least {MIN_BARS} real or proxy bars to calibrate the synthetic part, the store has "
            f"{len(base)}; get real bars with `python -m backtest.data fetch` / `record`, or import a proxy's history "
            "with `python -m backtest.data import`"
        )
    cfg = blend(params.synth, calibrate(base, interval_s), params.backtest.real_weight)
    filled, fill_info = fill_gaps(conform(base), interval_s, calendar_for(params.market.coin), params.synth.seed,
                                  params.synth.off_session.vol_multiplier)  # fmt: skip
    first = filled["timestamp"].iloc[0]
    n_pre = max(0, int((first - pd.Timestamp(start)).total_seconds()) // interval_s)
    fill_info["prefix_bars"] = n_pre
    if n_pre == 0:
        return validate_bars(filled, "hybrid bars"), cfg.model_dump(), fill_info
    pre_start = first - pd.Timedelta(seconds=n_pre * interval_s)
    synth = generate_bars(n_pre, cfg, start=pre_start, interval_s=interval_s, seed=params.synth.seed,
                          calendar=calendar_for(params.market.coin))  # fmt: skip
    factor = float(filled["open"].iloc[0]) / float(synth["close"].iloc[-1])
    for col in PRICE_COLUMNS:
        synth[col] = synth[col] * factor
    bars = pd.concat([synth, filled], ignore_index=True)
    return validate_bars(bars, "hybrid bars"), cfg.model_dump(), fill_info
