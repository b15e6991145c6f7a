"""Orders as the paper exchange keeps them, and the real API's order error strings."""

from __future__ import annotations

from dataclasses import dataclass, field

ERR_TICK = "Price must be divisible by tick size."
ERR_SIZE = "Order has invalid size."
ERR_MARGIN = "Insufficient margin to place order."
ERR_REDUCE = "Reduce only order would increase position."
ERR_IOC = "Order could not immediately match against any resting orders."
ERR_TPSL = "Invalid TP/SL price."
ERR_MIN = "Order must have minimum value of $10."
ERR_CANCEL = "Order was never placed, already canceled, or filled."
ERR_ASSET = "Invalid asset."
ERR_REJECT = "Order rejected by the paper exchange (injected fault)."
ERR_PARENT = "Parent order did not fill."


@dataclass
class Order:
    oid: int
    user: str
    coin: str
    is_buy: bool
    px: float
    sz: float
    orig_sz: float
    reduce_only: bool
    timestamp: int
    tif: str | None = None
    cloid: str | None = None
    trigger_px: float | None = None
    is_market: bool = True
    tpsl: str | None = None
    position_tpsl: bool = False
    parent: int | None = None
    children: list[int] = field(default_factory=list)
    status: str = "open"  # open | waiting | filled | canceled | triggered | rejected | reduceOnlyCanceled | ...
    status_ts: int = 0
    hold_bar: int = -1  # a TP held back during this bar because the same bar also touches the stop

    @property
    def is_trigger(self) -> bool:
        return self.trigger_px is not None

    def fires_above(self) -> bool:
        """Trigger direction: a sell TP and a buy SL fire when the price rises to the trigger."""
        return (self.tpsl == "tp") != self.is_buy
