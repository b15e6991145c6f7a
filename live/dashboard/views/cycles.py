"""The Autopilot page's figures: cycle rows, the timeline frame (bucketed when long) and the summary."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from live.dashboard.views.fmt import _finite, fmt_num, fmt_time, gate_text

STATUS_LEVELS = {"CRITICAL": 0, "POOR": 1, "MODERATE": 2, "GOOD": 3}


def cycle_rows(cycles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per cycle for the timeline table, newest first."""
    rows = []
    for c in reversed(cycles):
        trials = c.get("trials") or {}
        size = c.get("size_multiplier") or {}
        winner = c.get("winner") or {}
        swap = c.get("swap") or {}
        start, end = c.get("start_ms"), c.get("end_ms")
        rows.append(
            {
                "cycle": c.get("cycle"),
                "end": fmt_time(end),
                "minutes": fmt_num((end - start) / 60_000, 1) if _finite(start) and _finite(end) else "-",
                "status": c.get("status") or "-",
                "reasons": "; ".join(map(str, c.get("reasons") or [])) or "-",
                "actions": ", ".join(map(str, c.get("actions") or [])) or "-",
                "size": f"{fmt_num(size.get('old'))} -> {fmt_num(size.get('new'))}" if size else "-",
                "trials exec/learn": f"{trials.get('execution', 0)}/{trials.get('learning', 0)}",
                "winner": f"{winner.get('id')} ({fmt_num(winner.get('score'), 3)})" if winner else "-",
                "gate": gate_text(c.get("gate")),
                "promoted": c.get("promoted") or "-",
                "swap": f"{swap.get('old')} -> {swap.get('new')}" if swap else "-",
                "error": c.get("error") or "",
            }
        )
    return rows


def cycle_frame(cycles: list[dict[str, Any]]) -> pd.DataFrame:
    """Per cycle for the timeline chart: end time, status, level (0 CRITICAL .. 3 GOOD), trials, swap, gate."""
    return pd.DataFrame(
        {
            "time": pd.to_datetime([int(c.get("end_ms") or 0) for c in cycles], unit="ms", utc=True),
            "cycle": [c.get("cycle") for c in cycles],
            "status": [c.get("status") or "-" for c in cycles],
            "level": [STATUS_LEVELS.get(str(c.get("status")), -1) for c in cycles],
            "trials": [sum(int(v or 0) for v in (c.get("trials") or {}).values()) for c in cycles],
            "swap": [bool(c.get("swap")) for c in cycles],
            "gate": [gate_text(c.get("gate")) for c in cycles],
            "actions": [", ".join(map(str, c.get("actions") or [])) for c in cycles],
        }
    )


TIMELINE_BUCKETS = (("hour", "1h"), ("6 hours", "6h"), ("day", "1D"), ("week", "7D"))


def cycle_timeline(frame: pd.DataFrame, max_points: int = 240) -> tuple[pd.DataFrame, str]:
    """The timeline's points: one per cycle while there are at most `max_points`, else cycles counted per (time
    bucket, status), with the smallest bucket that keeps the points under the limit (a month of 30-minute cycles:
    per day). Returns (time, status, cycles, trials, swaps; per cycle also cycle, gate, actions) and the bucket's
    name ("cycle" when not bucketed).
    A chart of thousands of overlapping dots is slow to draw and says less than the counts."""
    cols = ["time", "status", "cycles", "trials", "swaps"]
    if frame.empty:
        return pd.DataFrame(columns=cols), "cycle"
    if len(frame) <= max_points:
        return frame.assign(cycles=1, swaps=frame["swap"].astype(int))[[*cols, "cycle", "gate", "actions"]], "cycle"
    for name, freq in TIMELINE_BUCKETS:
        out = (
            frame.assign(time=frame["time"].dt.floor(freq), swaps=frame["swap"].astype(int))
            .groupby(["time", "status"], as_index=False)
            .agg(cycles=("cycle", "size"), trials=("trials", "sum"), swaps=("swaps", "sum"))
        )
        if len(out) <= max_points or name == TIMELINE_BUCKETS[-1][0]:
            return out[cols], name
    raise AssertionError("unreachable")


def cycle_summary(cycles: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts over all cycles: by status, gate verdicts, promotions, swaps, trials; the last status."""
    statuses = Counter(str(c.get("status")) for c in cycles)
    gates = [c.get("gate") for c in cycles if isinstance(c.get("gate"), dict)]
    return {
        "cycles": len(cycles),
        "by_status": {s: statuses.get(s, 0) for s in STATUS_LEVELS},
        "gate_passed": sum(1 for g in gates if g.get("passed")),
        "gate_refused": sum(1 for g in gates if not g.get("passed")),
        "promoted": sum(1 for c in cycles if c.get("promoted")),
        "swaps": sum(1 for c in cycles if c.get("swap")),
        "trials": sum(sum(int(v or 0) for v in (c.get("trials") or {}).values()) for c in cycles),
        "errors": sum(1 for c in cycles if c.get("error")),
        "last_status": cycles[-1].get("status") if cycles else None,
        "last_end_ms": cycles[-1].get("end_ms") if cycles else None,
    }
