"""Summaries of a bar series: span, bar count, gaps, share per source and basic return statistics."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from backtest.data.schema import REAL_SOURCES, find_gaps

_SECONDS_PER_YEAR = 365 * 86400


def summarize(bars: pd.DataFrame, interval_s: int) -> dict[str, Any]:
    """Span, counts, gaps, share per source, mean/std of one-bar log returns, annualised vol, price range."""
    n = len(bars)
    if n == 0:
        return {"bars": 0}
    counts = {str(k): int(v) for k, v in bars["source"].value_counts().items()}
    close = bars["close"].to_numpy(dtype=np.float64)
    r = np.diff(np.log(close))
    gaps = find_gaps(bars, interval_s)
    std = float(r.std()) if len(r) else 0.0
    return {
        "bars": n,
        "start": str(bars["timestamp"].iloc[0]),
        "end": str(bars["timestamp"].iloc[-1] + pd.Timedelta(seconds=interval_s)),
        "days": n * interval_s / 86400,
        "gaps": len(gaps),
        "missing_bars": int(gaps["missing_bars"].sum()) if len(gaps) else 0,
        "share": {k: v / n for k, v in counts.items()},
        "share_real": sum(counts.get(s, 0) for s in REAL_SOURCES) / n,
        "counts": counts,
        "ret_mean": float(r.mean()) if len(r) else 0.0,
        "ret_std": std,
        "annual_vol": std * float(np.sqrt(_SECONDS_PER_YEAR / interval_s)),
        "price_min": float(bars["low"].min()),
        "price_max": float(bars["high"].max()),
        "first_open": float(bars["open"].iloc[0]),
        "last_close": float(close[-1]),
        "mean_volume": float(bars["volume"].mean()),
        "mean_trades": float(bars["trades"].mean()),
    }


def format_summary(summary: dict[str, Any], title: str = "bars") -> str:
    """Human-readable lines for `summarize` output."""
    if summary.get("bars", 0) == 0:
        return f"{title}: no bars"
    share = ", ".join(f"{k} {v:.1%}" for k, v in summary["share"].items())
    return "\n".join(
        [
            f"{title}: {summary['bars']} bars, {summary['start']} .. {summary['end']} ({summary['days']:.2f} days)",
            f"  gaps: {summary['gaps']} ({summary['missing_bars']} missing bars)",
            f"  sources: {share}; share real {summary['share_real']:.1%}",
            f"  1-bar log returns: mean {summary['ret_mean']:.3e}, std {summary['ret_std']:.3e}; "
            f"annualised vol {summary['annual_vol']:.1%}",
            f"  price: {summary['price_min']:.2f} .. {summary['price_max']:.2f} "
            f"(first open {summary['first_open']:.2f}, last close {summary['last_close']:.2f})",
            f"  mean volume {summary['mean_volume']:.3f}, mean trades {summary['mean_trades']:.1f}",
        ]
    )
