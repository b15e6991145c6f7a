"""Backtest a sub-span of the loaded bars: cut the market and features so trading covers exactly [lo, hi).

The cut starts `warmup_bars` before the span (indicators and recurrent policy state warm up there, no trading), so
`run_backtest` on the slice plans its first segment at the span's first bar. Features are causal, so computing them
on the full series and slicing is exact. One definition for every caller: `python -m backtest --start/--end`, RL
validation during training, walk-forward folds of sweeps, and the test span of the gate.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from backtest.sim import Market


def share_real(bars: pd.DataFrame, span: tuple[int, int]) -> float:
    """Share of real bars (`source` in REAL_SOURCES) among bars [span[0], span[1]); 0 for an empty span."""
    return span_shares(bars, span)["real"]


def span_shares(bars: pd.DataFrame, span: tuple[int, int]) -> dict[str, float]:
    """Shares of real, proxy and synthetic bars among bars [span[0], span[1]) (`schema.source_shares`)."""
    from backtest.data.schema import source_shares

    return source_shares(bars["source"].iloc[span[0] : span[1]])


@dataclass(frozen=True)
class SpanData:
    """A market slice for one span: bars [start, end) of the full series, trading on [start + warmup, end)."""

    market: Market
    features: np.ndarray
    provenance: dict[str, Any]
    start: int
    end: int


def slice_span(
    bars: pd.DataFrame,
    market: Market,
    features: np.ndarray,
    provenance: dict[str, Any],
    window: tuple[int, int],
    warmup: int,
) -> SpanData:
    """Cut the full market/features to `window` [lo, hi) plus `warmup` bars before it.

    A window at the very start of the series has no bars before it and trades from bar `warmup` on, like any
    backtest. The provenance says which bars were traded (`window_bars`, start, end) and their shares of real,
    proxy and synthetic bars.
    """
    lo, hi = window
    if not 0 <= lo < hi <= market.n_bars:
        raise ValueError(f"span [{lo}, {hi}) is not inside the {market.n_bars} loaded bars")
    start = max(0, lo - warmup)
    arrays = {
        f.name: np.ascontiguousarray(getattr(market, f.name)[start:hi])
        for f in dataclasses.fields(market)
        if isinstance(getattr(market, f.name), np.ndarray)
    }
    sliced = dataclasses.replace(market, **arrays)
    ts = bars["timestamp"]
    prov = dict(provenance)
    if "source" in bars:
        prov.update({f"share_{kind}": v for kind, v in span_shares(bars, window).items()})
    prov.update(
        n_bars=hi - lo,
        start=pd.Timestamp(ts.iloc[lo]).isoformat(),
        end=pd.Timestamp(ts.iloc[hi - 1]).isoformat(),
        window_bars=[lo, hi],
    )
    return SpanData(sliced, np.ascontiguousarray(features[start:hi]), prov, start, hi)


def window_of(bars: pd.DataFrame, start: str | pd.Timestamp | None, end: str | pd.Timestamp | None) -> tuple[int, int]:
    """Bar range [lo, hi) of the bars whose open time lies in [start, end] (UTC; either bound may be None)."""
    ts = pd.to_datetime(bars["timestamp"], utc=True)
    lo_t = _utc(start) if start is not None else ts.iloc[0]
    hi_t = _utc(end) if end is not None else ts.iloc[-1]
    lo = int((ts < lo_t).sum())  # bars are in ascending time
    hi = int((ts <= hi_t).sum())
    if hi - lo < 2:
        raise ValueError(
            f"span {lo_t.isoformat()} .. {hi_t.isoformat()} holds {max(0, hi - lo)} of the loaded bars "
            f"({ts.iloc[0].isoformat()} .. {ts.iloc[-1].isoformat()}); load more days or widen the span"
        )
    return lo, hi


def _utc(value: str | pd.Timestamp) -> pd.Timestamp:
    t = pd.Timestamp(value)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
