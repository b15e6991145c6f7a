"""The trader's one resting post-only (Alo) order: what it is, and the simulator's rule it lives by.

A maker style (`execution.entry` / `execution.exit` = maker) makes a decision a post-only limit at the venue's touch
instead of an IOC: at most one rests per coin and account (`TraderState.resting`, saved in state.json). Its life is
the simulator's (docs/ARCHITECTURE.md, "Execution styles"): at each open, `resting_order_rule` (the simulator's own
function, backtest/sim/rules.py) says whether the action decided at the close before cancels it, is absorbed by it,
or whether its ttl ran out (cancelled, or sent as an IOC of the same size). `live.orders.OrderDesk` places, cancels
and settles it; `live.sync.VenueSync` reads its fills by cloid, oid and trade id.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from backtest.sim import layout as L
from backtest.sim.rules import resting_order_rule

PURPOSES = ("entry", "exit")
# the simulator's order outcomes (`layout.ORDER_OUTCOMES`), as the journal's `outcome` records name them
OUTCOME_NAMES = {L.OC_REJECTED: "rejected", L.OC_FILLED: "filled", L.OC_EXPIRED: "expired",
                 L.OC_CONVERTED: "converted", L.OC_CANCELLED: "cancelled"}  # fmt: skip


@dataclass
class RestingOrder:
    """One post-only order on the venue, from the moment it is journalled until it leaves the book."""

    cloid: str
    purpose: str  # "entry" | "exit"
    side: int  # +1 buy, -1 sell
    size: float  # coin units, on the lot
    limit_px: float  # on the venue's tick
    placed_bar: int  # bar index (open time // bar length) of the open it was sent at
    expiry_bar: int  # the open at which it expires: placed_bar + ttl
    reason: str  # "signal" | "max_hold" (an exit the hold limit posted: an opposite decision leaves it)
    decision_ms: int  # open time of the bar whose close decided it
    eq_decision: float  # equity at the decision (an entry's return is on it, as the simulator's)
    atr: float = 0.0  # ATR at the decision (an entry's stop distance with the ATR stop)
    legs: list[str] = field(default_factory=list)  # an exit: the legs it closes
    oid: int | None = None
    acked: bool = False  # the venue answered (resting); False: journalled and sent, the answer not read yet
    filled: float = 0.0  # size filled so far (from the venue's fills, by trade id)
    avg_px: float | None = None
    first_fill_ms: int | None = None
    last_fill_ms: int | None = None

    @property
    def kind(self) -> int:
        return L.O_ENTRY if self.purpose == "entry" else L.O_EXIT

    @property
    def reason_code(self) -> int:
        return L.R_TIMEOUT if self.reason == "max_hold" else L.R_SIGNAL

    def at_open(self, want: int, bar: int, blocked: bool, to_market: bool) -> tuple[int, bool]:
        """The simulator's `resting_order_rule` at the open of `bar`: (outcome code or -1 to keep resting, absorbed)."""
        outcome, absorbed = resting_order_rule(
            self.kind, float(self.side), self.reason_code, float(want), blocked, bar, self.expiry_bar, to_market
        )
        return int(outcome), bool(absorbed)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RestingOrder:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class OrderFills:
    """What the venue says about one order: its status and its fills (deduplicated by trade id)."""

    found: bool
    status: str  # open | filled | canceled | rejected | reduceOnlyCanceled | ... | unknownOid
    oid: int | None
    size: float = 0.0
    avg_px: float | None = None
    first_ms: int | None = None
    last_ms: int | None = None
    tids: tuple[int, ...] = ()

    @property
    def resting(self) -> bool:
        return self.status in ("open", "triggered")
