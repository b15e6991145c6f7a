"""A trader's saved state rebuilt from what survives when `state.json` does not: the journal and status.json.

`state.json` is replaced atomically, so a crash never tears it; a disk fault, a copy cut short or a hand edit can.
Then the trader moves the damaged file aside (kept) and resumes from `rebuild_state`, in the shape `TraderState.saved`
gives, made from:

- the journal (every record, all days): fills journalled (trade ids, the last fill time), closed trades (the Kelly
  statistics), the size multiplier, the drawdown halt, the day's start equity and daily stop, pause, the equity
  baseline and its rebase, the counters, the last control request handled, the last bar processed;
- the legs of status.json's position (written atomically after every loop turn, so as fresh as the state was);
  none when status.json is missing or belongs to another coin or account;
- status.json's resting post-only order (a maker style), unless the journal already holds its `outcome` (it left
  the book): the trader then looks it up by cloid at start and keeps, settles or ends it as after any restart.
  Without status.json an order still resting on the venue is an orphan: reconciliation cancels it.

The venue stays the truth: the trader then looks up the previous session's unanswered orders and reconciles, which
repairs or adopts the legs from the venue's position and orders exactly as after any start.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from live.positions import Leg, TradeStats
from live.resting import PURPOSES, RestingOrder
from live.risk import RiskState

_COUNTED = {"bar": "bars", "decision": "decisions", "order": "orders", "fill": "fills", "reconcile": "reconciles"}


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def status_legs(status: dict[str, Any] | None, coin: str, account: str) -> list[dict[str, Any]] | None:
    """The legs of status.json's position (each a valid leg; [] when it was flat), or None when there is no
    status.json of this trader (same coin and account)."""
    if not isinstance(status, dict) or status.get("coin") != coin:
        return None
    if str(status.get("account", "")).lower() != account.lower():
        return None
    out = []
    for d in ((status.get("position") or {}).get("legs")) or []:
        try:
            out.append(Leg.from_dict(d).to_dict())
        except (TypeError, ValueError):
            continue
    return out


def status_resting(status: dict[str, Any] | None, coin: str, account: str, ended: set[str]) -> dict[str, Any] | None:
    """status.json's resting post-only order (a valid one, of this trader), unless its cloid is in `ended` (the
    journal holds its outcome)."""
    if status_legs(status, coin, account) is None or not isinstance(status.get("resting_order"), dict):
        return None
    try:
        r = RestingOrder.from_dict(status["resting_order"])
    except TypeError:
        return None
    if r.cloid in ended or r.purpose not in PURPOSES or r.side not in (1, -1):
        return None
    return r.to_dict()


def rebuild_state(
    records: Iterable[dict[str, Any]], status: dict[str, Any] | None, coin: str, account: str, bar_ms: int,
    version: int,
) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    """(the saved state rebuilt from the journal `records` and `status`, a summary of what it was made from)."""
    stats = TradeStats()
    counts = {"bars": 0, "decisions": 0, "orders": 0, "fills": 0, "reconciles": 0, "diffs": 0}
    tids: list[int] = []
    ended: set[str] = set()  # post-only orders whose outcome is journalled
    peak, halted, halt_ms = 0.0, False, None
    day, day_start, daily_stop = "", 0.0, False
    paused, pause_reason = False, ""
    size_multiplier = start_equity = rebase_bar = control_id = last_bar_ms = None
    last_fill_ms = last_ts = n = 0
    previous_start_ms = None
    for rec in records:
        n += 1
        kind, ts = rec.get("kind"), int(rec.get("ts") or 0)
        last_ts = max(last_ts, ts)
        if kind in _COUNTED:
            counts[_COUNTED[kind]] += 1
        if kind == "start":
            previous_start_ms = ts
        elif kind == "bar" and _finite(rec.get("bar")):
            last_bar_ms = int(rec["bar"])
        elif kind == "decision" and _finite(rec.get("equity")):
            eq = float(rec["equity"])
            peak = max(peak, eq)
            if _day(ts) != day:
                day, day_start, daily_stop = _day(ts), eq, False
            if start_equity is None and _finite(rec.get("bar")):
                start_equity, rebase_bar = eq, int(rec["bar"]) // bar_ms
        elif kind == "rebase" and _finite(rec.get("equity")):
            start_equity, rebase_bar = float(rec["equity"]), rec.get("bar_index")
        elif kind == "fill" and rec.get("tid") is not None:
            tids.append(rec["tid"])
            last_fill_ms = max(last_fill_ms, int(rec.get("time") or 0))
        elif kind == "outcome" and rec.get("cloid"):
            ended.add(str(rec["cloid"]))
        elif kind == "trade" and _finite(rec.get("return_pct")):
            stats.record(float(rec["return_pct"]) / 100.0)
            trade = {k: v for k, v in rec.items() if k not in ("ts", "kind")}
            stats.recent = [*stats.recent[-49:], trade]
        elif kind == "size" and _finite(rec.get("new")):
            size_multiplier = float(rec["new"])
        elif kind == "control" and rec.get("id"):
            control_id = rec["id"]
        elif kind == "reconcile":
            counts["diffs"] += len(rec.get("diffs") or [])
        elif kind == "risk":
            event = rec.get("event")
            if event == "halt":
                halted, halt_ms = True, ts
            elif event == "daily_stop" and _day(ts) == day:
                daily_stop = True
            elif event == "daily_reset":
                daily_stop = False
            elif event == "paused":
                paused, pause_reason = True, str(rec.get("reason") or "")
            elif event == "resumed":
                paused, pause_reason = False, ""
    from_status = status_legs(status, coin, account)
    legs = from_status or []
    risk = RiskState(peak=peak, halted=halted, halt_ms=halt_ms, day=day, day_start_equity=day_start,
                     daily_stop=daily_stop, paused=paused, pause_reason=pause_reason)  # fmt: skip
    saved: dict[str, Any] = {
        "version": version,
        "saved_ms": last_ts,
        "orders_since_ms": previous_start_ms or 0,  # every order of the last session is looked up if unanswered
        "legs": legs,
        "resting": status_resting(status, coin, account, ended),
        "risk": risk.to_dict(),
        "stats": stats.to_dict(),
        "start_equity": start_equity,
        "rebase_bar": rebase_bar,
        "last_fill_ms": last_fill_ms,
        "seen_tids": tids[-2000:],
        "counts": counts,
        "control_id": control_id,
        "last_bar_ms": last_bar_ms,
    }
    if size_multiplier is not None:
        saved["size_multiplier"] = size_multiplier
    legs_from = "the venue (no status.json)" if from_status is None else "status.json"
    summary = {"records": n, "legs": len(legs), "legs_from": legs_from, "fills": len(tids), "trades": stats.n_trades,
               "halted": halted, "resting": saved["resting"] is not None}  # fmt: skip
    return saved, summary
