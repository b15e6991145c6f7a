"""Alerts: what a person should notice, from journal records and autopilot cycles, newest first."""

from __future__ import annotations

from typing import Any

from live.dashboard.views.fmt import _finite, fmt_num, fmt_time, short_id

LEVELS = ("critical", "warning", "info")
_RISK_ALERTS = {
    "halt": ("critical", "drawdown halt fired"),
    "daily_stop": ("critical", "daily loss limit: no new opens today"),
    "emergency_on": ("critical", "emergency stop file present: flattened, no new positions"),
    "emergency_off": ("info", "emergency stop file removed"),
    "breaker_open": ("warning", "circuit breaker open: exchange calls failing, orders paused"),
    "breaker_closed": ("info", "circuit breaker closed"),
    "size_capped": ("info", "order size capped by a risk limit"),
}
_FEED_ALERTS = {
    "lost": ("warning", "feed down"),
    "reconnected": ("info", "feed reconnected"),
    "error": ("warning", "feed error"),
}
# `alert` records whose event is already shown from its own record (risk, feed, reconcile, ack, error, swap)
_SHOWN_FROM_THEIR_RECORD = {*_RISK_ALERTS, "feed_lost", "feed_reconnected", "reconcile_diff", "order_error", "swap",
                            "exchange_unavailable", "control_refused", "swap_failed"}  # fmt: skip


def _detail(rec: dict[str, Any], keys: tuple[str, ...]) -> str:
    parts = []
    for k in keys:
        v = rec.get(k)
        if v is None or v == "" or v == []:
            continue
        parts.append(f"{k} {fmt_num(v) if _finite(v) and not isinstance(v, int) else v}")
    return ", ".join(parts)


def gap_text(rec: dict[str, Any]) -> str:
    """One line for a `gap` record: the bars a restart missed and what became of them."""
    n = rec.get("bars", 0)
    span = f"{fmt_time(rec.get('from'))} .. {fmt_time(rec.get('to'))}" if n else "none"
    how = rec.get("backfilled") or "not backfilled"
    missing = rec.get("missing") or 0
    tail = f"; {missing} older than the history window, never seen" if missing else ""
    return f"restart gap: {n} bar(s) missed while the trader was down ({span}); {how}, not traded{tail}"


def skipped_text(counts: dict[str, int]) -> str:
    """What the journal readers skipped: lines a crash tore, and records salvaged from behind one."""
    parts = []
    if counts.get("torn"):
        parts.append(f"{counts['torn']} torn journal line(s) skipped (a crash mid-write)")
    if counts.get("salvaged"):
        parts.append(f"{counts['salvaged']} record(s) recovered from behind a torn line")
    return "; ".join(parts)


def alerts(records: list[dict[str, Any]], cycles: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Everything a person should notice, newest first: halt fired, daily stop, emergency stop, breaker, feed down,
    reconciliation difference, order errors, errors, swaps; from cycles: gate refused, swap done, cycle errors."""
    out: list[dict[str, Any]] = []

    def add(ts: Any, level: str, kind: str, text: str) -> None:
        out.append({"ts": ts, "time": fmt_time(ts), "level": level, "kind": kind, "text": text})

    for rec in records:
        kind, ts = rec.get("kind"), rec.get("ts")
        if kind == "risk" and rec.get("event") in _RISK_ALERTS:
            level, text = _RISK_ALERTS[rec["event"]]
            extra = _detail(rec, ("drawdown_pct", "equity", "peak", "why", "size"))
            add(ts, level, rec["event"], text + (f" ({extra})" if extra else ""))
        elif kind == "feed" and rec.get("event") in _FEED_ALERTS:
            level, text = _FEED_ALERTS[rec["event"]]
            extra = _detail(rec, ("error", "gap_bars", "bars"))
            add(ts, level, "feed_" + rec["event"], text + (f" ({extra})" if extra else ""))
        elif kind == "reconcile" and rec.get("diffs"):
            diffs = ", ".join(sorted({str(d.get("kind")) for d in rec["diffs"] if isinstance(d, dict)}))
            add(ts, "warning", "reconcile_diff",
                f"reconciliation difference ({rec.get('why')}): {diffs}; venue {fmt_num(rec.get('venue_size'), 4)}, "
                f"local {fmt_num(rec.get('local_size'), 4)}")  # fmt: skip
        elif kind == "ack" and rec.get("status") == "error":
            add(ts, "warning", "order_error", f"order {short_id(rec.get('cloid'))} refused: {rec.get('error')}")
        elif kind == "error":
            add(ts, "warning", "error", f"{rec.get('where')}: {rec.get('error')}")
        elif kind == "swap":
            add(ts, "info", "swap", f"policy swapped {rec.get('old')} -> {rec.get('new')} ({rec.get('reason') or '-'})")
        elif kind == "stop":
            add(ts, "info", "stop", f"trader stopped (flatten {rec.get('flatten')})")
        elif kind == "gap":
            add(ts, "warning", "gap", gap_text(rec))
        elif kind == "alert" and rec.get("alert") not in _SHOWN_FROM_THEIR_RECORD:
            level = rec.get("level") if rec.get("level") in LEVELS else "warning"
            text = rec.get("message") or _detail(rec, ("error", "file", "kept", "reason"))
            add(ts, level, str(rec.get("alert")), text or "-")
    for c in cycles or []:
        ts = c.get("end_ms")
        gate = c.get("gate")
        if isinstance(gate, dict) and not gate.get("passed"):
            who = (c.get("winner") or {}).get("id", "winner")
            add(ts, "warning", "gate_refused", f"cycle {c.get('cycle')}: gate refused {who} "
                f"(failed {', '.join(gate.get('failed') or []) or '-'})")  # fmt: skip
        if c.get("swap"):
            sw = c["swap"]
            add(ts, "info", "swap_done", f"cycle {c.get('cycle')}: swap done {sw.get('old')} -> {sw.get('new')}")
        if c.get("error"):
            add(ts, "warning", "cycle_error", f"cycle {c.get('cycle')}: {c['error']}")
        if c.get("status") == "CRITICAL":
            add(ts, "critical", "cycle_critical",
                f"cycle {c.get('cycle')}: CRITICAL ({'; '.join(c.get('reasons') or []) or '-'})")  # fmt: skip
    out.sort(key=lambda a: a["ts"] if _finite(a["ts"]) else 0, reverse=True)
    return out
