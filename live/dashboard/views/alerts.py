"""Alerts: what a person should notice, newest first: the journals' `alert` records (the trader's, the autopilot's).

The records are the ones the pushes send (`live.alerts`): each carries its event, level and one-line message, decided
once where it happened (`live.alerts.events`), so the panel, `live.serve status` and a phone all say the same.
"""

from __future__ import annotations

from typing import Any

from live.dashboard.views.fmt import _finite, fmt_time

LEVELS = ("critical", "warning", "info")


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


def alerts(records: list[dict[str, Any]], autopilot_records: list[dict[str, Any]] | None = None) -> list[dict]:
    """Every `alert` record of the trader's journal window and of the autopilot's journal, newest first, as
    {ts, time, level, kind (the event), text (the message)}."""
    out: list[dict[str, Any]] = []
    for rec in [*records, *(autopilot_records or [])]:
        if rec.get("kind") != "alert":
            continue
        ts = rec.get("ts")
        level = rec.get("level") if rec.get("level") in LEVELS else "warning"
        out.append({"ts": ts, "time": fmt_time(ts), "level": level, "kind": str(rec.get("event")),
                    "text": str(rec.get("message") or rec.get("event"))})  # fmt: skip
    out.sort(key=lambda a: a["ts"] if _finite(a["ts"]) else 0, reverse=True)
    return out
