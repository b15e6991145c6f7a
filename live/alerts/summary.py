"""The daily summary of a trader: equity, PnL, trades, fees, drawdown, policy and the autopilot's grade, in one line.

Made from the files a trader and the autopilot write (status.json, the last 24 hours of the journal, cycles.jsonl),
so it says what the dashboard would say; the dispatcher sends it at `alerts.daily_summary_hour`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from live.alerts.events import STATUS, money, num, pct
from live.journal import read_records, read_status

DAY_MS = 86_400_000


def _last_cycle(path: Path | None) -> dict[str, Any] | None:
    if path is None or not path.is_file():
        return None
    last = None
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                last = json.loads(line)
            except ValueError:
                continue
    return last if isinstance(last, dict) else None


def daily_summary(root: Path, now_ms: int, cycles_file: Path | None = None) -> tuple[str, str]:
    """(level, body): warning when the trader is not running or its opens are blocked, else info."""
    st = read_status(root) or {}
    since = now_ms - DAY_MS
    equities, trades, wins, fees = [], 0, 0, 0.0
    for rec in read_records(root, since_ms=since, kinds={"decision", "trade", "fill"}):
        if rec["kind"] == "decision" and isinstance(rec.get("equity"), int | float):
            equities.append(float(rec["equity"]))
        elif rec["kind"] == "trade":
            trades += 1
            wins += (rec.get("return_pct") or 0) > 0
        elif rec["kind"] == "fill":
            fees += float(rec.get("fee") or 0.0)
    equity = st.get("equity") if isinstance(st.get("equity"), int | float) else (equities[-1] if equities else None)
    parts = [f"equity {money(equity)}"]
    if equities and equity is not None:
        pnl = equity - equities[0]
        parts[0] += f" (24 h PnL {pnl:+,.2f}, {100 * pnl / equities[0]:+.2f} %)"
    peak, max_dd = 0.0, 0.0
    for e in equities:
        peak = max(peak, e)
        max_dd = max(max_dd, 100 * (1 - e / peak) if peak > 0 else 0.0)
    risk = st.get("risk") or {}
    parts.append(f"{trades} trades ({wins} won), fees {money(fees)}")
    parts.append(f"drawdown {pct(risk.get('drawdown_pct'))} now, {pct(max_dd)} at worst in 24 h (halt at "
                 f"{num(risk.get('halt_level_pct'), 2)} %)")  # fmt: skip
    pos = st.get("position") or {}
    side = {1: "long", -1: "short"}.get(pos.get("side"), "flat")
    parts.append(f"policy {st.get('policy_id', '?')} (size x{num(st.get('size_multiplier'), 2)}), {side}"
                 + (f" {num(abs(pos.get('size') or 0))}" if side != "flat" else ""))  # fmt: skip
    cyc = _last_cycle(cycles_file)
    parts.append(f"grade {cyc.get('status')} (autopilot cycle {cyc.get('cycle')})" if cyc else "no autopilot grade")
    blocked = risk.get("opens_blocked")
    running = bool(st.get("running"))
    if not running:
        parts.append("the trader is NOT running: start it with python -m live.serve")
    elif blocked:
        parts.append(f"new entries blocked: {blocked}")
    body = "; ".join(parts) + f". {STATUS}."
    return ("warning" if blocked or not running else "info"), body


def trader_summary(root: Path, cycles_file: Path | None) -> Callable[[int], tuple[str, str]]:
    return lambda now_ms: daily_summary(root, now_ms, cycles_file)
