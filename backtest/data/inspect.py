"""Summaries of a bar series: span, bar count, gaps (labelled by the market's calendar), shares real / proxy /
synthetic and basic return statistics."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from backtest.data.schema import find_gaps, source_shares, timestamps_ms
from backtest.venue.calendar import STATE_NAMES, SessionCalendar

GAP_LABELS = ("weekend", "daily_break", "holiday", "in_session")


def label_gaps(bars: pd.DataFrame, interval_s: int, calendar: SessionCalendar) -> pd.DataFrame:
    """`find_gaps` plus a `label` per gap: the closed session it falls in (weekend, daily_break, holiday: the
    state of its middle missing bar, else of its first or last) or `in_session` (bars missing while the market
    trades: an outage or minutes without trades)."""
    gaps = find_gaps(bars, interval_s)
    if len(gaps) == 0:
        gaps["label"] = pd.Series([], dtype=str)
        return gaps
    iv = interval_s * 1000
    before = gaps["before"].to_numpy(dtype="datetime64[ms]").view(np.int64)
    missing = gaps["missing_bars"].to_numpy(dtype=np.int64)
    first = before + iv
    probes = [first + (missing // 2) * iv, first, first + (missing - 1) * iv]
    states = [calendar.states(p) for p in probes]
    label = np.full(len(gaps), "in_session", dtype=object)
    for st in reversed(states):  # the middle bar's state wins, then the first's, then the last's
        closed = st != 0
        label[closed] = np.asarray(STATE_NAMES, dtype=object)[st[closed]]
    gaps["label"] = label.astype(str)
    return gaps


def gap_summary(bars: pd.DataFrame, interval_s: int, calendar: SessionCalendar) -> dict[str, dict[str, int]]:
    """{label: {"gaps": n, "missing_bars": m}} for every label with a gap."""
    gaps = label_gaps(bars, interval_s, calendar)
    out: dict[str, dict[str, int]] = {}
    for name in GAP_LABELS:
        rows = gaps[gaps["label"] == name]
        if len(rows):
            out[name] = {"gaps": len(rows), "missing_bars": int(rows["missing_bars"].sum())}
    return out


_SECONDS_PER_YEAR = 365 * 86400


def summarize(bars: pd.DataFrame, interval_s: int, calendar: SessionCalendar | None = None) -> dict[str, Any]:
    """Span, counts, gaps (labelled when a `calendar` is given), share per source and per kind (real / proxy /
    synthetic), mean/std of one-bar log returns, annualised vol, price range."""
    n = len(bars)
    if n == 0:
        return {"bars": 0}
    counts = {str(k): int(v) for k, v in bars["source"].value_counts().items()}
    close = bars["close"].to_numpy(dtype=np.float64)
    r = np.diff(np.log(close))
    gaps = find_gaps(bars, interval_s)
    std = float(r.std()) if len(r) else 0.0
    ts = timestamps_ms(bars)
    shares = source_shares(bars["source"])
    return {
        "bars": n,
        "start": str(bars["timestamp"].iloc[0]),
        "end": str(bars["timestamp"].iloc[-1] + pd.Timedelta(seconds=interval_s)),
        "days": (float(ts[-1] - ts[0]) / 1000 + interval_s) / 86400,
        "bar_days": n * interval_s / 86400,
        "gaps": len(gaps),
        "missing_bars": int(gaps["missing_bars"].sum()) if len(gaps) else 0,
        "gap_labels": gap_summary(bars, interval_s, calendar) if calendar is not None and len(gaps) else {},
        "share": {k: v / n for k, v in counts.items()},
        "share_real": shares["real"],
        "share_proxy": shares["proxy"],
        "share_synthetic": shares["synthetic"],
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
    labels = summary.get("gap_labels") or {}
    by_label = " (" + ", ".join(f"{k.replace('_', ' ')} {v['gaps']}" for k, v in labels.items()) + ")" if labels else ""
    return "\n".join(
        [
            f"{title}: {summary['bars']:,} bars, {summary['start']} .. {summary['end']} ({summary['days']:.2f} days)",
            f"  gaps: {summary['gaps']:,}{by_label}, {summary['missing_bars']:,} missing bars (left as gaps)"
            if summary["gaps"]
            else "  gaps: none",
            f"  sources: {share}; {shares_text(summary)}",
            f"  1-bar log returns: mean {summary['ret_mean']:.3e}, std {summary['ret_std']:.3e}; "
            f"annualised vol {summary['annual_vol']:.1%}",
            f"  price: {summary['price_min']:.2f} .. {summary['price_max']:.2f} "
            f"(first open {summary['first_open']:.2f}, last close {summary['last_close']:.2f})",
            f"  mean volume {summary['mean_volume']:.3f}, mean trades {summary['mean_trades']:.1f}",
        ]
    )


def shares_text(d: dict[str, Any]) -> str:
    """`real 12.3 % / proxy 80.1 % / synthetic 7.6 %` from a dict with share_real, share_proxy, share_synthetic."""
    parts = [(k, d.get(f"share_{k}")) for k in ("real", "proxy", "synthetic")]
    return " / ".join(f"{k} {'n/a' if v is None else f'{v * 100:.1f} %'}" for k, v in parts)
