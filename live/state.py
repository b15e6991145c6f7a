"""What the live trader's parts share, in one explicit object, and what a restarted trader resumes from.

`TraderState` holds the legs, the trade statistics, the risk state, the counters, the size multiplier, the equity
baselines, the fills already journalled and this run's recent decisions and orders. The trader builds one and hands
it to each part that needs it (`live.orders.OrderDesk`, `live.sync.VenueSync`, `live.risk.RiskGuard`); `saved()` and
`resume()` are the `state.json` round trip. `Policy` is the strategy being traded, replaced whole by a hot swap.

With a maker style it also holds the one resting post-only order (`live.resting.RestingOrder`), saved with the rest.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

from backtest.domain import Bar
from backtest.sim import SimParams, exit_levels
from backtest.strategies.base import Strategy
from backtest.strategies.stream import StrategyStream
from backtest.venue.limits import FILLS_PER_RESPONSE
from live.positions import Leg, TradeStats, net_size
from live.resting import PURPOSES, RestingOrder
from live.risk import RiskState

STATE_VERSION = 1


@dataclass(frozen=True)
class Policy:
    """The strategy being traded: its id, the simulator parameters it trades with, its bar-by-bar stream."""

    policy_id: str
    strategy: Strategy
    sim: SimParams
    stream: StrategyStream

    def exit_levels(self, side: int, entry_px: float, atr: float | None = None) -> tuple[float, float]:
        """(TP, SL) of an entry at `entry_px`: the simulator's `exit_levels`, with the ATR known at the decision
        (`atr`; by default that of the last bar the stream saw) when the stop is ATR-based."""
        atr = (self.stream.features.atr if atr is None else atr) if self.sim.atr_on else 0.0
        tp, sl = exit_levels(float(side), entry_px, atr if math.isfinite(atr) else 0.0, self.sim)
        return float(tp), float(sl)


def _counts() -> dict[str, int]:
    return {"bars": 0, "decisions": 0, "orders": 0, "fills": 0, "reconciles": 0, "diffs": 0}


@dataclass
class TraderState:
    """The trader's shared, mutable state (see the module docstring). The first block is saved in `state.json`."""

    policy: Policy
    size_multiplier: float
    legs: list[Leg] = field(default_factory=list)
    resting: RestingOrder | None = None  # the post-only order on the venue (a maker style), at most one
    risk: RiskState = field(default_factory=RiskState)
    stats: TradeStats = field(default_factory=TradeStats)
    counts: dict[str, int] = field(default_factory=_counts)
    start_equity: float | None = None  # the 'equity change since start' input's baseline
    rebase_bar: int | None = None
    last_fill_ms: int = 0
    seen_tids: deque[int] = field(default_factory=lambda: deque(maxlen=FILLS_PER_RESPONSE))  # fills journalled (tids)
    control_id: str | None = None  # the last control-folder request handled
    last_bar_ms: int | None = None  # open time of the last bar decided (`on_bar`): where a restart's gap begins
    # this run only
    history: list[Bar] = field(default_factory=list)  # every closed bar seen (a swapped-in strategy warms on them)
    last_bar: Bar | None = None
    last_equity: float | None = None
    recent_decisions: deque[dict] = field(default_factory=lambda: deque(maxlen=20))
    recent_orders: deque[dict] = field(default_factory=lambda: deque(maxlen=20))
    need_reconcile: bool = True  # at start, after a reconnect, after a close that did not fill
    since_reconcile: int = 0
    fills_due: bool = False  # orders went out since the fills were last read
    gap: dict[str, Any] | None = None  # the bars this run's start missed (the `gap` record), for the status

    @property
    def position(self) -> float:
        return net_size(self.legs)

    def mark_order(self, cloid: str | None, status: str, avg_px: float | None = None) -> None:
        """A resting order of the recent-orders list changed on the venue (cancelled, or a trigger filled)."""
        for rec in self.recent_orders:
            if rec.get("cloid") == cloid and rec.get("status") in ("resting", "waiting"):
                rec["status"] = status
                if avg_px is not None:
                    rec["avg_px"] = avg_px

    def saved(self, now_ms: int) -> dict[str, Any]:
        """What `state.json` holds."""
        return {
            "version": STATE_VERSION,
            "saved_ms": now_ms,
            "policy_id": self.policy.policy_id,
            "legs": [lg.to_dict() for lg in self.legs],
            "resting": None if self.resting is None else self.resting.to_dict(),
            "risk": self.risk.to_dict(),
            "stats": self.stats.to_dict(),
            "size_multiplier": self.size_multiplier,
            "start_equity": self.start_equity,
            "rebase_bar": self.rebase_bar,
            "last_fill_ms": self.last_fill_ms,
            "seen_tids": list(self.seen_tids),
            "counts": self.counts,
            "control_id": self.control_id,
            "last_bar_ms": self.last_bar_ms,
        }

    def resume(self, saved: dict[str, Any]) -> None:
        """Take over a saved state, all or nothing: `ValueError` (saying what is wrong, nothing changed) when it is
        of another version or a field does not hold what it should."""
        if saved.get("version") != STATE_VERSION:
            raise ValueError(f"state version {saved.get('version')!r}, this trader reads version {STATE_VERSION}")
        try:
            legs = [Leg.from_dict(d) for d in saved.get("legs") or []]
            resting = RestingOrder.from_dict(saved["resting"]) if saved.get("resting") else None
            risk = RiskState.from_dict(saved.get("risk") or {})
            risk = replace(risk, peak=float(risk.peak), day_start_equity=float(risk.day_start_equity),
                           failures=int(risk.failures), breaker_until_ms=int(risk.breaker_until_ms))  # fmt: skip
            stats = TradeStats.from_dict(saved.get("stats") or {})
            size_multiplier = float(saved.get("size_multiplier", self.size_multiplier))
            start_equity = _number_or_none(saved.get("start_equity"))
            rebase_bar = None if saved.get("rebase_bar") is None else int(saved["rebase_bar"])
            last_fill_ms = int(saved.get("last_fill_ms") or 0)
            seen = [int(t) for t in saved.get("seen_tids") or []]
            counts = {str(k): int(v) for k, v in (saved.get("counts") or {}).items()}
            control_id = saved.get("control_id")
            last_bar_ms = None if saved.get("last_bar_ms") is None else int(saved["last_bar_ms"])
            if resting is not None and (
                resting.purpose not in PURPOSES
                or resting.side not in (1, -1)
                or not all(math.isfinite(float(x)) for x in (resting.size, resting.limit_px))
            ):
                raise ValueError(f"resting order {resting.cloid!r}: {resting.purpose} side {resting.side}, "
                                 f"size {resting.size}, limit {resting.limit_px}")  # fmt: skip
            for leg in legs:
                if leg.side not in (1, -1) or not all(math.isfinite(float(x)) for x in (leg.size, leg.entry_px)):
                    raise ValueError(f"leg {leg.leg_id!r} has side {leg.side}, size {leg.size}, entry {leg.entry_px}")
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"a field does not hold what it should ({type(exc).__name__}: {exc})") from None
        if not math.isfinite(size_multiplier) or size_multiplier < 0:
            raise ValueError(f"size_multiplier {size_multiplier}")
        self.legs, self.resting, self.risk, self.stats = legs, resting, risk, stats
        self.size_multiplier, self.start_equity, self.rebase_bar = size_multiplier, start_equity, rebase_bar
        self.last_fill_ms = last_fill_ms
        self.seen_tids.extend(seen)
        self.counts.update(counts)
        self.control_id, self.last_bar_ms = control_id, last_bar_ms


def _number_or_none(x: Any) -> float | None:
    return None if x is None else float(x)
