"""Risk rules of the live trader as pure functions over plain data, so they test without a network.

On top of the simulator's own sizing (fixed fraction or Kelly, ATR stop, leverage; `backtest.sim.size_fraction`,
`exit_levels`) and its action interpreter (`action_orders`, whose `halted` input these rules decide):

- drawdown halt: equity at a bar close at or below peak * (1 - objectives.auto_stop_drawdown): no new opens from
  then on, closes allowed, exactly the simulator's rule (it stays on until an operator restarts with a fresh peak);
- daily loss limit: equity at or below the UTC day's starting equity * (1 - daily_loss_limit_pct): no new opens
  until the next UTC day;
- emergency stop: while the file named in `live.emergency_stop_file` exists, flatten and open nothing;
- circuit breaker: `breaker_failures` consecutive failed exchange calls pause new orders for `breaker_pause_seconds`;
- caps: an opening order's notional at most `max_order_notional`, and position notional after it at most
  `max_leverage` x equity (the order is cut to fit, or skipped when nothing fits);
- at most `trading.max_positions` legs open (the action interpreter already enforces it; checked again here);
- paused (by the autopilot on a CRITICAL grade, or an operator): no new opens until resumed;
- market session: with `trading.trade_closed_sessions` false, no new opens while the market's outside market is
  closed at the open the order would fill at (xyz:XYZ100: NQ's CME session), exactly the simulator's rule
  (`backtest.sim.market.opens_per_bar`); closes allowed.

`RiskGuard` is the small holder that applies these rules to one trader's risk state (`live.state.TraderState.risk`)
and journals (and alerts) every event they raise; what to do about an event (flatten) is the trader's call.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backtest.sim import halt_fires

if TYPE_CHECKING:
    from live.journal import Journal
    from live.state import TraderState


@dataclass(frozen=True)
class RiskLimits:
    auto_stop_frac: float  # drawdown from peak that halts new opens (0 = off)
    daily_loss_frac: float  # loss from the UTC day's start that stops opens for the day (0 = off)
    max_order_notional: float
    max_leverage: float
    max_positions: int
    emergency_stop_file: str
    breaker_failures: int
    breaker_pause_s: float

    @classmethod
    def from_config(cls, params: Any, objectives: Any) -> RiskLimits:
        live = params.live
        return cls(
            auto_stop_frac=objectives.auto_stop_drawdown / 100.0,
            daily_loss_frac=live.daily_loss_limit_pct / 100.0,
            max_order_notional=live.max_order_notional,
            max_leverage=live.max_leverage,
            max_positions=params.trading.max_positions,
            emergency_stop_file=live.emergency_stop_file,
            breaker_failures=live.breaker_failures,
            breaker_pause_s=live.breaker_pause_seconds,
        )


@dataclass(frozen=True)
class RiskState:
    peak: float = 0.0
    halted: bool = False  # drawdown halt (the simulator's)
    halt_ms: int | None = None
    day: str = ""
    day_start_equity: float = 0.0
    daily_stop: bool = False
    emergency: bool = False
    failures: int = 0  # consecutive failed exchange calls
    breaker_until_ms: int = 0
    paused: bool = False  # the autopilot (or an operator) paused opens
    pause_reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RiskState:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class RiskEvent:
    kind: str  # halt | daily_stop | daily_reset | emergency_on | emergency_off | breaker_open | breaker_closed
    detail: dict[str, Any] = field(default_factory=dict)


def _utc_day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def on_bar_close(state: RiskState, equity: float, now_ms: int, limits: RiskLimits) -> tuple[RiskState, list[RiskEvent]]:
    """Update peak, drawdown halt and daily stop with the equity marked at a bar close."""
    events: list[RiskEvent] = []
    if not math.isfinite(equity):
        return state, events
    day = _utc_day(now_ms)
    if day != state.day:
        if state.daily_stop:
            events.append(RiskEvent("daily_reset", {"day": day}))
        state = replace(state, day=day, day_start_equity=equity, daily_stop=False)
    if equity > state.peak:
        state = replace(state, peak=equity)
    elif not state.halted and halt_fires(equity, state.peak, limits.auto_stop_frac):
        state = replace(state, halted=True, halt_ms=now_ms)
        dd = 100.0 * (1.0 - equity / state.peak)
        events.append(RiskEvent("halt", {"equity": equity, "peak": state.peak, "drawdown_pct": round(dd, 4)}))
    if (
        not state.daily_stop
        and limits.daily_loss_frac > 0
        and state.day_start_equity > 0
        and equity <= state.day_start_equity * (1.0 - limits.daily_loss_frac)
    ):
        state = replace(state, daily_stop=True)
        loss = 100.0 * (1.0 - equity / state.day_start_equity)
        events.append(RiskEvent("daily_stop", {"equity": equity, "day_start": state.day_start_equity,
                                               "loss_pct": round(loss, 4)}))  # fmt: skip
    return state, events


def emergency_file_present(path: str) -> bool:
    return bool(path) and Path(path).exists()


def on_emergency(state: RiskState, present: bool) -> tuple[RiskState, list[RiskEvent]]:
    """The emergency-stop file appeared or went away."""
    if present == state.emergency:
        return state, []
    return replace(state, emergency=present), [RiskEvent("emergency_on" if present else "emergency_off")]


def on_exchange_call(state: RiskState, ok: bool, now_ms: int, limits: RiskLimits) -> tuple[RiskState, list[RiskEvent]]:
    """Count consecutive failures; open the breaker at `breaker_failures`, close it on the next success."""
    if ok:
        if state.failures == 0 and state.breaker_until_ms == 0:
            return state, []
        closed = state.breaker_until_ms > 0
        state = replace(state, failures=0, breaker_until_ms=0)
        return state, [RiskEvent("breaker_closed")] if closed else []
    failures = state.failures + 1
    if failures >= limits.breaker_failures and state.breaker_until_ms <= now_ms:
        until = now_ms + int(limits.breaker_pause_s * 1000)
        return replace(state, failures=failures, breaker_until_ms=until), [
            RiskEvent("breaker_open", {"failures": failures, "until_ms": until})
        ]
    return replace(state, failures=failures), []


def breaker_open(state: RiskState, now_ms: int) -> bool:
    return state.breaker_until_ms > now_ms


# Blocks of the live trader's own risk controls, which the backtest does not simulate (its drawdown halt and the
# session rule it does): a replay applies them where the journal's decisions record them (`live.replay`).
LIVE_ONLY_BLOCKS = ("emergency stop", "paused", "daily loss limit", "circuit breaker")


def opens_blocked(state: RiskState, now_ms: int) -> str | None:
    """Why no new position may be opened now, or None. (Closes are always allowed.)"""
    if state.emergency:
        return "emergency stop"
    if state.paused:
        return "paused" + (f" ({state.pause_reason})" if state.pause_reason else "")
    if state.halted:
        return "drawdown halt"
    if state.daily_stop:
        return "daily loss limit"
    if breaker_open(state, now_ms):
        return "circuit breaker"
    return None


def session_blocks_opens(trade_closed_sessions: bool, session_open: bool) -> str | None:
    """Why an entry may not open in this session state (None: it may). The market trades 24/7; only a trader told
    not to trade closed sessions refuses, as the simulator does with the same setting."""
    return None if trade_closed_sessions or session_open else "session closed"


def cap_open_size(
    size: float, price: float, equity: float, position_notional: float, open_legs: int, limits: RiskLimits
) -> tuple[float, str | None]:
    """The size an opening order may have under the caps, and why it was cut (None if untouched)."""
    if open_legs >= limits.max_positions:
        return 0.0, f"max_positions {limits.max_positions} reached"
    if size <= 0 or price <= 0 or equity <= 0:
        return 0.0, "nothing to size (size, price or equity is not positive)"
    reason = None
    if size * price > limits.max_order_notional:
        size, reason = limits.max_order_notional / price, f"max_order_notional {limits.max_order_notional:g}"
    room = limits.max_leverage * equity - abs(position_notional)
    if size * price > room:
        size, reason = max(0.0, room / price), f"max_leverage {limits.max_leverage:g}"
    return size, reason


class RiskGuard:
    """The rules above applied to `state.risk` of one trader at the clock's time; events journalled and alerted."""

    def __init__(
        self, limits: RiskLimits, state: TraderState, journal: Journal, clock: Callable[[], float] = time.time
    ) -> None:
        self.limits, self.state, self.journal, self.clock = limits, state, journal, clock

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _report(self, events: list[RiskEvent]) -> None:
        limits = {"halt_level_pct": self.limits.auto_stop_frac * 100, "limit_pct": self.limits.daily_loss_frac * 100}
        for ev in events:
            self.journal.write("risk", event=ev.kind, **ev.detail)
            self.journal.alert(ev.kind, {**ev.detail, **limits} if ev.kind in ("halt", "daily_stop") else ev.detail)

    def on_bar_close(self, equity: float) -> None:
        """Peak, drawdown halt and daily stop with the equity marked at a bar close."""
        self.state.risk, events = on_bar_close(self.state.risk, equity, self._now_ms(), self.limits)
        self._report(events)

    def on_exchange_call(self, ok: bool) -> None:
        """Every exchange call's outcome (`live.execution.Execution`'s `on_call`): the circuit breaker."""
        self.state.risk, events = on_exchange_call(self.state.risk, ok, self._now_ms(), self.limits)
        self._report(events)

    def check_emergency(self) -> tuple[bool, bool]:
        """(the emergency-stop file is present, that just changed)."""
        path = self.limits.emergency_stop_file
        present = emergency_file_present(path)
        self.state.risk, events = on_emergency(self.state.risk, present)
        for ev in events:
            self.journal.write("risk", event=ev.kind, file=path)
            self.journal.alert(ev.kind, {"file": path})
        return present, bool(events)

    def opens_blocked(self) -> str | None:
        return opens_blocked(self.state.risk, self._now_ms())

    def cap_open_size(
        self, size: float, price: float, equity: float, position_notional: float, open_legs: int
    ) -> tuple[float, str | None]:
        return cap_open_size(size, price, equity, position_notional, open_legs, self.limits)

    def pause(self, reason: str, flatten: bool) -> None:
        """No new positions until `resume` (the trader flattens when asked to)."""
        self.state.risk = replace(self.state.risk, paused=True, pause_reason=reason)
        self.journal.write("risk", event="paused", reason=reason, flatten=flatten)
        self.journal.alert("paused", {"reason": reason})

    def resume(self, reason: str) -> None:
        self.state.risk = replace(self.state.risk, paused=False, pause_reason="")
        self.journal.write("risk", event="resumed", reason=reason)
        self.journal.alert("resumed", {"reason": reason})

    def status(self, equity: float | None) -> dict[str, Any]:
        """The risk block of the trader's status."""
        risk, now = self.state.risk, self._now_ms()
        return {
            **risk.to_dict(),
            "drawdown_pct": (100 * (1 - equity / risk.peak)) if equity and risk.peak else 0.0,
            "halt_level_pct": self.limits.auto_stop_frac * 100,
            "opens_blocked": opens_blocked(risk, now),
            "breaker_open": breaker_open(risk, now),
            "emergency_stop_file": self.limits.emergency_stop_file,
        }
