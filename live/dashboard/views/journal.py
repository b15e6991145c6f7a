"""The Live page's figures: from journal records (equity, decisions, HOLD rate, fills and slippage, open orders,
the trade-density heatmap) and from status.json (risk, position, equity)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from backtest.venue.errors import is_gone
from live.dashboard.views.fmt import _finite, fmt_num, fmt_signed, fmt_time, short_id

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def by_kind(records: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Records grouped by `kind`, each list in journal order."""
    out: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        out.setdefault(str(rec.get("kind")), []).append(rec)
    return out


def last_session(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records from the last `start` record on (all of them when the window holds no start)."""
    for i in range(len(records) - 1, -1, -1):
        if records[i].get("kind") == "start":
            return records[i:]
    return records


def equity_frame(decisions: list[dict[str, Any]]) -> pd.DataFrame:
    """Equity marked at each decision's bar close: time (UTC), equity, pnl (since the first), pnl_pct, drawdown_pct
    (below the running peak)."""
    rows = [(d["bar"], float(d["equity"])) for d in decisions if _finite(d.get("equity")) and "bar" in d]
    if not rows:
        return pd.DataFrame(columns=["time", "equity", "pnl", "pnl_pct", "drawdown_pct"])
    bar, eq = (np.asarray(x) for x in zip(*rows))
    peak = np.maximum.accumulate(eq)
    return pd.DataFrame(
        {
            "time": pd.to_datetime(bar.astype(np.int64), unit="ms", utc=True),
            "equity": eq,
            "pnl": eq - eq[0],
            "pnl_pct": (eq / eq[0] - 1.0) * 100.0 if eq[0] else np.zeros_like(eq),
            "drawdown_pct": np.where(peak > 0, (1.0 - eq / peak) * 100.0, 0.0),
        }
    )


def thin(frame: pd.DataFrame, y: str, max_points: int = 500, by: str | None = None) -> pd.DataFrame:
    """At most about `max_points` rows per line for a chart, drawn the same: the rows are cut into equal buckets and
    each keeps its first, last, lowest and highest `y` (M4 downsampling), so no peak or trough disappears. A day of
    1-minute bars is 1,440 points per line, more than a chart has pixel columns; the browser draws fewer faster."""
    if by is not None:
        parts = [thin(g, y, max_points) for _, g in frame.groupby(by, sort=False)]
        return pd.concat(parts, ignore_index=True) if parts else frame
    n = len(frame)
    if n <= max_points:
        return frame
    size = int(np.ceil(n / (max_points / 4)))
    vals = frame[y].to_numpy(dtype=float)
    starts = np.arange(0, n, size)
    keep = set(starts.tolist()) | set(np.minimum(starts + size - 1, n - 1).tolist())
    safe = np.where(np.isfinite(vals), vals, np.nan)
    for s0 in starts:
        chunk = safe[s0 : s0 + size]
        if np.isfinite(chunk).any():
            keep.update((s0 + int(np.nanargmin(chunk)), s0 + int(np.nanargmax(chunk))))
    return frame.iloc[sorted(keep)].reset_index(drop=True)


def compare_frame(decisions: list[dict[str, Any]], bt_bars_ms: np.ndarray, bt_equity: np.ndarray) -> pd.DataFrame:
    """Live equity beside the backtester's on the same bars, long form (time, source, equity). The backtest starts
    from the simulator's initial equity; it is scaled to the live equity at the first shared bar."""
    live = equity_frame(decisions)
    if live.empty or len(bt_bars_ms) == 0:
        return pd.DataFrame(columns=["time", "source", "equity"])
    bt = pd.DataFrame(
        {"time": pd.to_datetime(np.asarray(bt_bars_ms, dtype=np.int64), unit="ms", utc=True), "bt": bt_equity}
    )
    both = live[["time", "equity"]].merge(bt, on="time", how="inner")
    if both.empty or not both["bt"].iloc[0]:
        return pd.DataFrame(columns=["time", "source", "equity"])
    both["bt"] = both["bt"] * (both["equity"].iloc[0] / both["bt"].iloc[0])
    out = both.rename(columns={"equity": "live", "bt": "backtest"}).melt("time", var_name="source", value_name="equity")
    return out


def decision_summary(decisions: list[dict[str, Any]], bars: int | None = None) -> dict[str, Any]:
    """Counts of BUY/SELL/HOLD, the HOLD rate (percent), decisions per bar, blocked and not executed."""
    actions = Counter(str(d.get("action")) for d in decisions)
    n = len(decisions)
    n_bars = bars if bars is not None else n
    return {
        "decisions": n,
        "bars": n_bars,
        "per_bar": n / n_bars if n_bars else None,
        "buy": actions.get("BUY", 0),
        "sell": actions.get("SELL", 0),
        "hold": actions.get("HOLD", 0),
        "hold_rate_pct": 100.0 * actions.get("HOLD", 0) / n if n else None,
        "blocked": sum(1 for d in decisions if d.get("blocked") and d.get("action") != "HOLD"),
        "not_executed": sum(1 for d in decisions if d.get("executed") is False),
    }


def hold_rate_series(decisions: list[dict[str, Any]], window: int = 60) -> pd.DataFrame:
    """Rolling HOLD rate (percent of the last `window` decisions) by bar time."""
    if not decisions:
        return pd.DataFrame(columns=["time", "hold_rate_pct"])
    hold = pd.Series([1.0 if d.get("action") == "HOLD" else 0.0 for d in decisions])
    return pd.DataFrame(
        {
            "time": pd.to_datetime([int(d["bar"]) for d in decisions], unit="ms", utc=True),
            "hold_rate_pct": hold.rolling(window, min_periods=1).mean().to_numpy() * 100.0,
        }
    )


def decision_rows(decisions: list[dict[str, Any]], n: int = 15) -> list[dict[str, Any]]:
    """The last `n` decisions, newest first."""
    rows = []
    for d in reversed(decisions[-n:]):
        why = d.get("blocked") or ""
        if d.get("fallback"):
            why = (why + " " if why else "") + "rules fallback"
        rows.append(
            {
                "bar": fmt_time(d.get("bar")),
                "action": d.get("action"),
                "close": fmt_num(d.get("close")),
                "equity": fmt_num(d.get("equity")),
                "position": fmt_num(d.get("position"), 4),
                "note": why or ("" if d.get("executed", True) else "not executed"),
            }
        )
    return rows


def entry_times(fills: list[dict[str, Any]]) -> list[int]:
    """Market time of each position entry (first fill of each opening order)."""
    first: dict[Any, int] = {}
    for f in fills:
        if not str(f.get("dir", "")).startswith("Open") or not _finite(f.get("time")):
            continue
        key = f.get("oid") if f.get("oid") is not None else f.get("cloid")
        first[key] = min(first.get(key, int(f["time"])), int(f["time"]))
    return sorted(first.values())


def heatmap(times_ms: Iterable[int]) -> np.ndarray:
    """Trade density: counts by weekday (rows, Mon..Sun) x hour of day (columns, UTC)."""
    counts = np.zeros((7, 24), dtype=np.int64)
    t = pd.to_datetime(np.asarray(list(times_ms), dtype=np.int64), unit="ms", utc=True)
    if len(t):
        np.add.at(counts, (t.dayofweek.to_numpy(), t.hour.to_numpy()), 1)
    return counts


def heatmap_frame(counts: np.ndarray) -> pd.DataFrame:
    """Long form of `heatmap` for a chart: weekday, hour, trades."""
    wd, hr = np.meshgrid(np.arange(7), np.arange(24), indexing="ij")
    return pd.DataFrame(
        {"weekday": [WEEKDAYS[i] for i in wd.ravel()], "hour": hr.ravel(), "trades": counts.ravel().astype(int)}
    )


def fill_rows(fills: list[dict[str, Any]], orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every fill with its reference price and slippage in bps, signed against the trader (positive = paid more
    than the decision price; triggers against their trigger price), oldest first."""
    by_cloid = {o.get("cloid"): o for o in orders}
    rows = []
    for f in fills:
        o = by_cloid.get(f.get("cloid")) or {}
        ref = o.get("decision_px") if _finite(o.get("decision_px")) else o.get("trigger_px")
        px = f.get("px")
        buy = f.get("side") == "B"
        slip = (px - ref) / ref * 1e4 * (1 if buy else -1) if _finite(ref) and _finite(px) and ref else None
        rows.append(
            {
                "time_ms": f.get("time"),
                "side": "buy" if buy else "sell",
                "size": f.get("size"),
                "px": px,
                "ref_px": ref if _finite(ref) else None,
                "slippage_bps": slip,
                "reason": o.get("reason") or "-",
                "dir": f.get("dir") or "-",
                "fee": f.get("fee"),
                "closed_pnl": f.get("closed_pnl"),
                "cloid": f.get("cloid"),
            }
        )
    return rows


def fill_table(rows: list[dict[str, Any]], n: int = 15) -> list[dict[str, str]]:
    """The last `n` fill rows formatted for a table, newest first."""
    return [
        {
            "time": fmt_time(r["time_ms"]),
            "dir": r["dir"],
            "size": fmt_num(r["size"], 4),
            "decision px": fmt_num(r["ref_px"]),
            "fill px": fmt_num(r["px"]),
            "slippage bps": fmt_signed(r["slippage_bps"]),
            "reason": r["reason"],
            "fee": fmt_num(r["fee"], 4),
        }
        for r in reversed(rows[-n:])
    ]


def slippage_stats(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean, median and worst slippage (bps) over fills with a reference price."""
    s = np.asarray([r["slippage_bps"] for r in rows if _finite(r.get("slippage_bps"))], dtype=np.float64)
    if not s.size:
        return {"n": 0, "mean_bps": None, "median_bps": None, "worst_bps": None}
    return {"n": int(s.size), "mean_bps": float(s.mean()), "median_bps": float(np.median(s)),
            "worst_bps": float(s.max())}  # fmt: skip


def live_figures(status: dict[str, Any], records: list[dict[str, Any]], now_ms: int) -> dict[str, Any]:
    """What every live view shows, from the status snapshot and the journal window: records by kind, decisions,
    equity, risk, position, decision summary, fills with slippage and their statistics. The web page and the
    terminal monitor both start from this, so they cannot disagree."""
    kinds = by_kind(records)
    decisions = kinds.get("decision", [])
    fills = fill_rows(kinds.get("fill", []), kinds.get("order", []))
    return {
        "kinds": kinds,
        "decisions": decisions,
        "equity": equity_view(status, decisions),
        "risk": risk_view(status, now_ms),
        "position": position_view(status),
        "summary": decision_summary(decisions, len(kinds.get("bar", []))),
        "fills": fills,
        "slippage": slippage_stats(fills),
    }


def cancel_took(record: dict[str, Any]) -> bool:
    """A journalled cancel removed its order: it worked, or the venue had already closed the order. A cancel that
    failed otherwise (rate limit, no answer) leaves the order resting."""
    err = record.get("error")
    return not err or bool(record.get("gone")) or is_gone(str(err))


def open_orders(
    orders: list[dict[str, Any]],
    acks: list[dict[str, Any]],
    cancels: list[dict[str, Any]],
    fills: list[dict[str, Any]],
    open_legs: set[str] | None = None,
) -> list[dict[str, Any]]:
    """Orders resting on the venue as the journal tells it: acknowledged resting (or waiting), not cancelled since,
    not filled since. With `open_legs` (leg ids in status.json's position), a TP/SL trigger counts only while its leg
    is open: the venue drops a reduce-only trigger once its position is gone, without a journal record."""
    last_ack: dict[Any, dict[str, Any]] = {}
    for a in acks:
        last_ack[a.get("cloid")] = a
    gone = {c.get("cloid") for c in cancels if cancel_took(c)} | {f.get("cloid") for f in fills}
    rows = []
    for o in orders:
        cloid = o.get("cloid")
        ack = last_ack.get(cloid)
        if ack is None or ack.get("status") not in ("resting", "waiting") or cloid in gone:
            continue
        if open_legs is not None and o.get("tpsl") and o.get("leg") not in open_legs:
            continue
        rows.append(
            {
                "placed": fmt_time(o.get("ts")),
                "type": o.get("tpsl") or o.get("order_type") or "-",
                "side": "buy" if o.get("is_buy") else "sell",
                "size": fmt_num(o.get("size"), 4),
                "trigger px": fmt_num(o.get("trigger_px")),
                "limit px": fmt_num(o.get("limit_px")),
                "leg": short_id(o.get("leg")),
                "cloid": short_id(cloid),
            }
        )
    unique = {r["cloid"]: r for r in rows}  # an order journalled twice (resend) shows once
    return list(unique.values())


# --- status.json --------------------------------------------------------------------------------------------------
def risk_view(status: dict[str, Any] | None, now_ms: int) -> dict[str, Any]:
    """Risk state for the page: drawdown vs the halt level, flags, feed health, and an overall level."""
    st = status or {}
    r = st.get("risk") or {}
    feed = st.get("feed") or {}
    dd, halt = r.get("drawdown_pct"), r.get("halt_level_pct")
    updated = st.get("updated_ms")
    status_age = (now_ms - updated) / 1000.0 if _finite(updated) else None
    view = {
        "drawdown_pct": dd,
        "halt_level_pct": halt,
        "headroom_pct": (halt - dd) if _finite(dd) and _finite(halt) else None,
        "halted": bool(r.get("halted")),
        "daily_stop": bool(r.get("daily_stop")),
        "emergency": bool(r.get("emergency")),
        "breaker_open": bool(r.get("breaker_open")),
        "opens_blocked": r.get("opens_blocked"),
        "failures": r.get("failures", 0),
        "feed_connected": bool(feed.get("connected")),
        "feed_mode": feed.get("mode"),
        "feed_age_s": feed.get("last_message_age_s"),
        "feed_reconnects": feed.get("reconnects", 0),
        "feed_error": feed.get("last_error"),
        "status_age_s": status_age,
        "running": bool(st.get("running")),
    }
    if view["emergency"] or view["halted"] or view["daily_stop"]:
        level = "critical"
    elif view["breaker_open"] or not view["feed_connected"] or not view["running"]:
        level = "warning"
    else:
        level = "ok"
    view["level"] = level
    return view


def open_leg_ids(status: dict[str, Any] | None) -> set[str] | None:
    """Leg ids of the position in status.json (None without a status)."""
    if not status:
        return None
    return {str(lg.get("leg_id")) for lg in ((status.get("position") or {}).get("legs") or [])}


def position_view(status: dict[str, Any] | None) -> dict[str, Any]:
    """Net position and its legs (entry, TP, SL) from status.json."""
    pos = (status or {}).get("position") or {}
    side = pos.get("side") or 0
    legs = [
        {
            "side": "long" if lg.get("side", 0) > 0 else "short",
            "size": fmt_num(lg.get("size"), 4),
            "entry px": fmt_num(lg.get("entry_px")),
            "take profit": fmt_num(lg.get("tp_px")),
            "stop loss": fmt_num(lg.get("sl_px")),
            "leg": short_id(lg.get("leg_id")) + (" (adopted)" if lg.get("adopted") else ""),
        }
        for lg in pos.get("legs") or []
    ]
    return {"size": pos.get("size", 0.0), "side": "long" if side > 0 else ("short" if side < 0 else "flat"),
            "legs": legs}  # fmt: skip


def equity_view(status: dict[str, Any] | None, decisions: list[dict[str, Any]]) -> dict[str, Any]:
    """Equity now, PnL since the trader's start equity, and the peak (status.json first, the journal as fallback)."""
    st = status or {}
    eq = st.get("equity")
    if not _finite(eq):
        eqs = [d["equity"] for d in decisions if _finite(d.get("equity"))]
        eq = eqs[-1] if eqs else None
    start = st.get("start_equity")
    if not _finite(start):
        eqs = [d["equity"] for d in decisions if _finite(d.get("equity"))]
        start = eqs[0] if eqs else None
    pnl = eq - start if _finite(eq) and _finite(start) else None
    return {
        "equity": eq,
        "start_equity": start,
        "pnl": pnl,
        "pnl_pct": pnl / start * 100.0 if _finite(pnl) and start else None,
        "peak": (st.get("risk") or {}).get("peak"),
    }
