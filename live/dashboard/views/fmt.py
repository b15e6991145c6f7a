"""Formatting shared by every view: numbers, times, ages, ids and gate verdicts as a page shows them."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

OPS = {">=": "≥", "<=": "≤"}  # tables render markdown: a leading ">" would become a quote


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def fmt_num(x: Any, digits: int = 2) -> str:
    """`1,234.57`; `-` for missing or non-finite values."""
    return f"{x:,.{digits}f}" if _finite(x) else "-"


def fmt_signed(x: Any, digits: int = 2, suffix: str = "") -> str:
    return f"{x:+,.{digits}f}{suffix}" if _finite(x) else "-"


def fmt_pct(x: Any, digits: int = 2) -> str:
    return f"{x:,.{digits}f} %" if _finite(x) else "-"


def fmt_time(ms: Any) -> str:
    """`2026-03-02 10:04:00` (UTC) from epoch milliseconds."""
    if not _finite(ms):
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def fmt_age(seconds: Any) -> str:
    if not _finite(seconds):
        return "-"
    s = max(0.0, float(seconds))
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def short_id(cloid: Any, n: int = 10) -> str:
    return str(cloid)[:n] if cloid else "-"


def gate_text(gate: Any) -> str:
    if not isinstance(gate, dict):
        return "-"
    if gate.get("passed"):
        return "PASS"
    return "REFUSED: " + (", ".join(gate.get("failed") or []) or "-")
