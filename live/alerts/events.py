"""The catalog of alerts: each event's level and the one line a person reads (pure; no I/O).

A message says what happened, the figure, what the system did and what to do, e.g. `drawdown halt: equity 9,590.00
is 4.10 % below its peak 10,001.00 (halt at 4 %) — no new entries from now on; ...`. `describe(event, figures)` is
what `live.journal.Journal.alert` writes into the `alert` record; an event the catalog does not know still gets a
readable line (its figures) at level warning, and a formatter that lacks a figure falls back to the same, so an
alert is never lost to a message. Levels: info < warning < critical.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

LEVELS = ("info", "warning", "critical")
STATUS = "python -m live.serve status"


def rank(level: str) -> int:
    """0 info, 1 warning, 2 critical (unknown: warning)."""
    return LEVELS.index(level) if level in LEVELS else 1


def _ok(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def money(x: Any) -> str:
    return f"{x:,.2f}" if _ok(x) else "?"


def pct(x: Any, digits: int = 2) -> str:
    return f"{x:,.{digits}f} %" if _ok(x) else "? %"


def num(x: Any, digits: int = 4) -> str:
    """At most `digits` decimals, trailing zeros dropped: 0.25, 1.5, 40."""
    if not _ok(x):
        return "?"
    text = f"{x:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def clock(ms: Any) -> str:
    """`03:00:12 UTC` from epoch ms."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%H:%M:%S UTC") if _ok(ms) else "?"


def figures_text(figures: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in figures.items() if v not in (None, "", [], {}))


@dataclass(frozen=True)
class Event:
    title: str
    level: str | Callable[[dict[str, Any]], str]
    text: str | Callable[[dict[str, Any]], str]  # a template ({figure} names; missing ones show "?") or a function

    def message(self, figures: dict[str, Any]) -> str:
        if callable(self.text):
            return self.text(figures)
        return self.text.format_map(_Shown(figures))


class _Shown(dict):
    """Figures for a template: a missing or empty one reads "?"."""

    def __missing__(self, key: str) -> str:
        return "?"

    def __getitem__(self, key: str) -> Any:
        v = super().get(key)
        return "?" if v is None or v == "" else v


def _f(d: dict[str, Any], key: str, default: Any = "?") -> Any:
    v = d.get(key)
    return default if v is None or v == "" else v


# --- trader ---------------------------------------------------------------------------------------------------------
def _halt(d: dict[str, Any]) -> str:
    return (f"drawdown halt: equity {money(d['equity'])} is {pct(d['drawdown_pct'])} below its peak "
            f"{money(d['peak'])} (halt at {num(d.get('halt_level_pct'), 2)} %) — no new entries from now on; open "
            f"legs keep their TP/SL on the venue and close on signal. The halt holds across restarts. Check the "
            f"policy: {STATUS}, python -m live.replay.")  # fmt: skip


def _daily_stop(d: dict[str, Any]) -> str:
    return (f"daily loss limit: equity {money(d['equity'])} is {pct(d['loss_pct'])} below today's start "
            f"{money(d['day_start'])} (limit {num(d.get('limit_pct'), 2)} %) — no new entries until 00:00 UTC; "
            f"open legs keep their TP/SL. If it happens again tomorrow, check the policy: {STATUS}.")  # fmt: skip


def _emergency_on(d: dict[str, Any]) -> str:
    f = _f(d, "file")
    return (f"emergency stop ON ({f} exists) — flattening every position and cancelling every order; nothing opens "
            f"while the file exists. To trade again: rm {f}")  # fmt: skip


def _breaker_open(d: dict[str, Any]) -> str:
    return (f"circuit breaker open: {_f(d, 'failures')} exchange calls failed in a row — no new orders until "
            f"{clock(d.get('until_ms'))}, then it tries again. Check the venue and the network; {STATUS} shows the "
            f"last error.")  # fmt: skip


def _paused(d: dict[str, Any]) -> str:
    return (f"trader paused ({_f(d, 'reason', 'no reason given')}) — positions flattened, no new entries until "
            f"resumed. Resume with python -m live.serve resume (the autopilot resumes it when it swaps in a better "
            f"policy).")  # fmt: skip


def _feed_lost(d: dict[str, Any]) -> str:
    return (f"market data feed lost ({_f(d, 'why')}) — no new bars, so no decisions; it reconnects with backoff, "
            f"polls REST meanwhile and backfills missed bars. If it stays down, check the network and the venue: "
            f"{STATUS}.")  # fmt: skip


def _feed_restored(d: dict[str, Any]) -> str:
    down = f" after {num(d['down_s'], 0)} s" if _ok(d.get("down_s")) else ""
    return (f"market data feed restored{down} (reconnect #{_f(d, 'reconnects')}) — missed bars backfilled over REST; "
            f"the trader reconciles with the venue now. Nothing to do.")  # fmt: skip


def _reconcile(d: dict[str, Any]) -> str:
    diffs = d.get("diffs") or []
    kinds = ", ".join(sorted({str(x.get("kind")) for x in diffs if isinstance(x, dict)})) or "?"
    return (f"reconciliation ({_f(d, 'why')}) found {len(diffs)} difference(s) with the venue: {kinds}; venue "
            f"position {num(d.get('venue_size'))}, trader's {num(d.get('local_size'))} — the venue is the truth: "
            f"legs repaired, {_f(d, 'cancelled', 0)} order(s) cancelled, {_f(d, 'placed', 0)} trigger(s) placed. "
            f"A manual trade on the account does this; otherwise check the fills: {STATUS}.")  # fmt: skip


def _order_refused(d: dict[str, Any]) -> str:
    side = "buy" if d.get("is_buy") else "sell"
    what = f"{side} {num(d.get('size'))} @ {money(d.get('limit_px'))}" if d.get("size") is not None else "an order"
    return (f"order refused by the venue: {what} ({_f(d, 'reason', 'order')}): {_f(d, 'error')} — nothing filled; "
            f"the trader goes on at the next bar (reconciliation repairs a close that did not happen). If it repeats, "
            f"check margin and the venue's limits: {STATUS}.")  # fmt: skip


def _started(d: dict[str, Any]) -> str:
    legs = d.get("legs") or 0
    resumed = f", resumed its saved state ({legs} open leg(s))" if d.get("resumed") else ""
    return (f"trader started: {_f(d, 'mode')} on {_f(d, 'coin')}, policy {_f(d, 'policy_id')} ({_f(d, 'strategy')})"
            f"{resumed}. {STATUS} shows it.")  # fmt: skip


def _restarted(d: dict[str, Any]) -> str:
    return (f"trader restarted after an unclean exit: the previous run (pid {_f(d, 'pid')}, last status "
            f"{clock(d.get('last_update_ms'))}) never stopped (crash, kill or power loss) — it resumed the saved "
            f"state ({_f(d, 'legs', 0)} leg(s)), looks up unanswered orders and reconciles with the venue. Find the "
            f"cause in that run's log and the journal before {clock(d.get('last_update_ms'))}.")  # fmt: skip


def _stopped(d: dict[str, Any]) -> str:
    how = ("positions flattened and orders cancelled" if d.get("flatten")
           else f"{_f(d, 'legs', 0)} leg(s) left open with their TP/SL on the venue")  # fmt: skip
    return f"trader stopped ({how}). Start it again with python -m live.serve."


def _basename(path: Any) -> str:
    return str(path).replace("\\", "/").rsplit("/", 1)[-1]


def _journal_torn(d: dict[str, Any]) -> str:
    f = _f(d, "file")
    return (f"{f} ended in a torn line (a crash mid-write): its {d['bytes']} bytes were moved to "
            f"{_basename(d['kept'])} and the file goes on from its last whole line; nothing else changed. Nothing "
            f"to do (the kept bytes are there to read).")  # fmt: skip


def _state_rebuilt(d: dict[str, Any]) -> str:
    halt = ", drawdown halt kept" if d.get("halted") else ""
    resting = " and its resting post-only order" if d.get("resting") else ""
    return (f"state.json could not be resumed ({d['why']}); kept as {_basename(d['kept'])}; state rebuilt from the "
            f"journal ({d['records']} records: {d['fills']} fills, {d['trades']} trades{halt}) with {d['legs']} leg(s)"
            f"{resting} from {d['legs_from']}, then looked up and reconciled with the venue (the venue is the "
            f"truth). Check the legs: {STATUS}.")  # fmt: skip


def _day_clock(ms: Any) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC") if _ok(ms) else "?"


def _restart_gap(d: dict[str, Any]) -> str:
    missing = d.get("missing") or 0
    never = f"; {missing} older than the history window, never seen" if missing else ""
    return (f"restart gap: {d['bars']} bar(s) closed while no trader ran ({_day_clock(d.get('from'))} .. "
            f"{_day_clock(d.get('to'))}): {_f(d, 'covered', 0)} came back over REST with the warm-up history, so the "
            f"strategy's state ran through them, but none was traded{never}. Nothing to do; if it was not a planned "
            f"stop, find why the trader was down.")  # fmt: skip


# --- autopilot ------------------------------------------------------------------------------------------------------
def _grade_level(d: dict[str, Any]) -> str:
    return {"CRITICAL": "critical", "POOR": "warning"}.get(str(d.get("new")), "info")


def _grade(d: dict[str, Any]) -> str:
    old, new, acts = d.get("old"), _f(d, "new"), d.get("actions") or []
    if "pause" in acts:
        did = "the trader is paused: positions flattened, no new entries"
    elif _ok(d.get("size_old")) and _ok(d.get("size_new")) and d["size_old"] != d["size_new"]:
        did = f"size multiplier {num(d['size_old'], 3)} -> {num(d['size_new'], 3)}"
    elif not d.get("trader"):
        did = "no trader is running to act on"
    else:
        did = "size kept"
    if d.get("improve"):
        did += "; improving now (sweep, retrain)"
    todo = {"CRITICAL": "It stays paused until a candidate passes the gate and is swapped in, or you resume it: "
                        "python -m live.serve resume.",
            "POOR": f"Watch the next cycles: {STATUS}."}.get(str(new), "Nothing to do.")  # fmt: skip
    change = f"grade {old} -> {new}" if old else f"first grade {new}"
    figs = _known([("Sharpe {}", d.get("sharpe"), 2), ("max drawdown {} %", d.get("max_drawdown_pct"), 2),
                   ("{} trades", d.get("n_trades"), 0)])  # fmt: skip
    over = f" over the last {num(d['judge_days'], 1)} days" if _ok(d.get("judge_days")) else ""
    why = "; ".join([*(d.get("reasons") or []), *([", ".join(figs) + over] if figs else [])])
    return f"autopilot cycle {_f(d, 'cycle')}: {change} for {_f(d, 'policy')} ({why}) — {did}. {todo}"


def _known(items: list[tuple[str, Any, int]]) -> list[str]:
    """The figures that are there, formatted ("Sharpe 1.23"); missing ones left out rather than shown as "?"."""
    return [fmt.format(num(v, digits)) for fmt, v, digits in items if _ok(v)]


def _promoted(d: dict[str, Any]) -> str:
    if d.get("swapped"):
        resumed = ", trader resumed" if d.get("resumed") else ""
        swap = f"swapped into the trader ({_f(d, 'old')} -> {_f(d, 'id')}{resumed})"
    else:
        swap = "no trader running: python -m live.serve trades it at its next start"
    vs = f" vs the live policy's {num(d['live_sharpe'], 2)}" if _ok(d.get("live_sharpe")) else ""
    margin = f" (margin {num(d['margin'], 2)})" if _ok(d.get("margin")) else ""
    figs = _known([("{} %/month", d.get("monthly_return_pct"), 2), ("max drawdown {} %", d.get("max_drawdown_pct"), 2),
                   ("profit factor {}", d.get("profit_factor"), 2), ("{} trades", d.get("n_trades"), 0)])  # fmt: skip
    kind = f" ({d['kind']})" if d.get("kind") else ""
    return (f"autopilot cycle {_f(d, 'cycle')} promoted {_f(d, 'id')}{kind}: test Sharpe {num(d.get('test_sharpe'), 2)}"
            f"{vs}{margin}{'; ' + ', '.join(figs) if figs else ''}; gate passed"
            f"{' for live use' if d.get('for_live') else ''} — {swap}. Watch its first bars: {STATUS}.")  # fmt: skip


def _refused(d: dict[str, Any]) -> str:
    refused = d.get("refused") or []
    why = "; ".join(f"{r.get('id')}: {r.get('why')}" for r in refused[:3] if isinstance(r, dict)) or "no candidate"
    return (f"autopilot cycle {_f(d, 'cycle')}: nothing promoted ({why}) — {_f(d, 'policy')} keeps trading. Nothing "
            f"to do; python -m rl.registry list shows the candidates.")  # fmt: skip


def _improve_failed(d: dict[str, Any]) -> str:
    return (f"autopilot cycle {_f(d, 'cycle')}: the {_f(d, 'what')} failed: {_f(d, 'error')} — the cycle stopped "
            f"there (its grade's action stands); the next cycle starts in {num(d.get('cycle_hours'), 2)} h. Look at "
            f"the autopilot's output and the Ray dashboard (trial errors).")  # fmt: skip


def _cycle_failed(d: dict[str, Any]) -> str:
    return (f"autopilot cycle {_f(d, 'cycle')}: step {_f(d, 'step')} failed: {_f(d, 'error')} — the cycle stopped; "
            f"the next one starts in {num(d.get('cycle_hours'), 2)} h. Look at the autopilot's output.")  # fmt: skip


CATALOG: dict[str, Event] = {
    # trader: risk
    "halt": Event("drawdown halt", "critical", _halt),
    "daily_stop": Event("daily loss limit", "critical", _daily_stop),
    "daily_reset": Event(
        "daily loss limit lifted", "info", "new UTC day {day}: the daily loss stop is lifted; entries allowed again."
    ),
    "emergency_on": Event("emergency stop ON", "critical", _emergency_on),
    "emergency_off": Event(
        "emergency stop off", "info", "emergency stop off ({file} removed) — trading resumes at the next bar."
    ),
    "breaker_open": Event("circuit breaker open", "warning", _breaker_open),
    "breaker_closed": Event(
        "circuit breaker closed", "info", "circuit breaker closed: exchange calls succeed again, orders resume."
    ),
    "paused": Event("trader paused", "warning", _paused),
    "resumed": Event("trader resumed", "info", "trader resumed ({reason}) — new entries allowed again."),
    # trader: feed, venue, orders
    "feed_lost": Event("feed lost", "warning", _feed_lost),
    "feed_restored": Event("feed restored", "info", _feed_restored),
    "reconcile_diff": Event("reconciliation difference", "warning", _reconcile),
    "order_refused": Event("order refused", "warning", _order_refused),
    "exchange_unavailable": Event(
        "venue unreachable",
        "warning",
        "the venue did not answer the account read ({error}) — this bar is not traded; the trader tries again next "
        "bar, and the circuit breaker opens if it persists. " + STATUS + ".",
    ),
    # trader: lifecycle and commands
    "trader_started": Event("trader started", "info", _started),
    "trader_restarted": Event("trader restarted after a crash", "warning", _restarted),
    "trader_stopped": Event("trader stopped", "info", _stopped),
    "restart_gap": Event("restart gap", "warning", _restart_gap),
    "journal_torn": Event("journal torn tail moved aside", "warning", _journal_torn),
    "state_rebuilt": Event("state rebuilt", "warning", _state_rebuilt),
    "step_failed": Event(
        "trader loop error",
        "warning",
        "a trader loop turn failed: {error} — the trader keeps running and tries again; if it repeats, read the "
        "trader's log and journal.",
    ),
    "control_refused": Event(
        "control request refused", "warning", "a control request ({id}) was refused: {error} — nothing changed."
    ),
    "swap": Event(
        "policy swapped",
        "info",
        "policy swapped: {old} -> {new} ({reason}) — the new policy trades from the next bar; legs, orders and risk "
        "state carried over. " + STATUS + ".",
    ),
    "swap_failed": Event(
        "policy swap failed",
        "warning",
        "policy swap to {spec} failed: {error} — still trading {current}. Check the checkpoint (python -m "
        "rl.registry list).",
    ),
    # autopilot
    "grade_changed": Event("autopilot grade", _grade_level, _grade),
    "promoted": Event("policy promoted", "info", _promoted),
    "promotion_refused": Event("nothing promoted", "info", _refused),
    "sweep_failed": Event("sweep failed", "warning", _improve_failed),
    "training_failed": Event("training failed", "warning", _improve_failed),
    "cycle_failed": Event("autopilot cycle failed", "warning", _cycle_failed),
}

EVENT_NAMES = tuple(CATALOG)


def title_of(event: str) -> str:
    ev = CATALOG.get(event)
    return ev.title if ev else event.replace("_", " ")


def describe(event: str, figures: dict[str, Any]) -> tuple[str, str]:
    """(level, one-line message) of `event` with `figures` (see the module docstring)."""
    ev = CATALOG.get(event)
    if ev is None:
        return "warning", f"{title_of(event)}: {figures_text(figures) or 'no details'}"
    try:
        level = ev.level(figures) if callable(ev.level) else ev.level
        return level, ev.message(figures)
    except (KeyError, TypeError, ValueError, AttributeError):
        level = ev.level if isinstance(ev.level, str) else "warning"
        return level, f"{ev.title}: {figures_text(figures) or 'no details'}"
