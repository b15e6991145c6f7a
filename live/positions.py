"""The trader's own view of its position: legs, each an entry with its TP/SL triggers, like the simulator's slots.

The venue holds one net position per coin; the trader keeps how it got there (entry price and bar, the equity at
the decision, the cloids of the entry and of its triggers) so that max hold, Kelly statistics and the policy's
position state follow the simulator's rules. The venue stays the truth: `live.reconcile` repairs this view.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from backtest.venue.wire import cloid_for


@dataclass
class Leg:
    """One entry: side, size, fill price, the bar whose open filled it, equity at the decision, exit levels."""

    leg_id: str  # the entry order's cloid
    side: int  # +1 long, -1 short
    size: float
    entry_px: float
    entry_bar: int  # bar index (bar open time // bar length) of the fill bar
    eq_entry: float
    tp_px: float
    sl_px: float
    tp_rev: int = 0  # bumped when the TP trigger is placed again (its cloid changes with it)
    sl_rev: int = 0
    adopted: bool = False  # taken over from the venue by reconciliation
    maker: bool = False  # entered by a post-only order (maker fee)
    protected: bool = True  # its TP/SL triggers are on the venue; a maker entry's go on at the open `exits_from`
    exits_from: int = 0  # a maker entry: the bar after its (last) fill bar

    @property
    def tp_cloid(self) -> str:
        return cloid_for(self.leg_id, "tp", self.tp_rev)

    @property
    def sl_cloid(self) -> str:
        return cloid_for(self.leg_id, "sl", self.sl_rev)

    def trigger_cloid(self, kind: str) -> str:
        return self.tp_cloid if kind == "tp" else self.sl_cloid

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Leg:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


@dataclass
class TradeStats:
    """Closed-trade statistics the sizing rule reads (Kelly), as the simulator keeps them."""

    n_trades: int = 0
    n_wins: int = 0
    sum_win: float = 0.0  # sum of winning returns (fraction of equity at entry)
    sum_loss: float = 0.0  # sum of |losing returns|
    recent: list[dict[str, Any]] = field(default_factory=list)

    def record(self, ret: float) -> None:
        self.n_trades += 1
        if ret > 0:
            self.n_wins += 1
            self.sum_win += ret
        else:
            self.sum_loss -= ret

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TradeStats:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def net_size(legs: list[Leg]) -> float:
    return sum(leg.side * leg.size for leg in legs)


def side_of(legs: list[Leg]) -> int:
    return legs[0].side if legs else 0
