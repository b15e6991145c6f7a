"""The exchange's domain objects: orders, the requests that act on them, their outcomes and fills (the venue's
error texts are in `backtest/venue/errors.py`).

Nothing here knows JSON: `wire.py` turns requests into these objects and these objects into the real API's shapes.
Prices and sizes are floats (validated finite on the way in); request prices and sizes stay `Decimal` until the
engine has checked them against the market's tick and lot rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

TIFS = ("Gtc", "Ioc", "Alo")
GROUPINGS = ("na", "normalTpsl", "positionTpsl")


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


# --- requests (what a signed action asks for) ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OrderRequest:
    """One order of an `order` action, shape-checked: a limit order (`tif`) or a trigger order (`trigger_px`)."""

    asset: int
    is_buy: bool
    px: Decimal
    sz: Decimal
    reduce_only: bool
    tif: str | None = None
    trigger_px: Decimal | None = None
    is_market: bool = True
    tpsl: str | None = None
    cloid: str | None = None  # lower-case "0x" + 32 hex digits


@dataclass(frozen=True, slots=True)
class PlaceOrders:
    orders: tuple[OrderRequest, ...]
    grouping: str  # GROUPINGS


@dataclass(frozen=True, slots=True)
class CancelRequest:
    asset: int
    oid: int | None = None
    cloid: str | None = None


@dataclass(frozen=True, slots=True)
class Cancel:
    cancels: tuple[CancelRequest, ...]


@dataclass(frozen=True, slots=True)
class ModifyRequest:
    oid: int | str  # an oid or a cloid
    order: OrderRequest


@dataclass(frozen=True, slots=True)
class BatchModify:
    modifies: tuple[ModifyRequest, ...]


@dataclass(frozen=True, slots=True)
class UpdateLeverage:
    asset: int
    is_cross: bool
    leverage: int


@dataclass(frozen=True, slots=True)
class ApproveAgent:
    """A user-signed approval of an API wallet (agent) that may then sign L1 actions for the master account."""

    agent: str  # lower-case address
    name: str  # "" = the unnamed agent
    chain: str  # hyperliquidChain: "Mainnet" | "Testnet"
    chain_id: int  # from signatureChainId (the chain the wallet signed for)
    nonce: int


L1Action = PlaceOrders | Cancel | BatchModify | UpdateLeverage
Action = L1Action | ApproveAgent


# --- outcomes -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Resting:
    oid: int
    cloid: str | None


@dataclass(frozen=True, slots=True)
class Filled:
    oid: int
    cloid: str | None
    coin: str
    total_sz: float
    avg_px: float


@dataclass(frozen=True, slots=True)
class Rejected:
    error: str


class _Marker:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


WAITING = _Marker("WAITING")  # a normalTpsl child waiting for its parent to fill
SUCCESS = _Marker("SUCCESS")  # a cancel that went through
OrderOutcome = Resting | Filled | Rejected | _Marker


@dataclass(slots=True)
class Fill:
    """One execution against the paper book, as the account sees it."""

    user: str
    coin: str
    px: float
    sz: float
    is_buy: bool
    time: int
    start_position: float
    direction: str
    closed_pnl: float
    oid: int
    crossed: bool
    fee: float
    tid: int
    cloid: str | None = None
    liquidation: bool = False


@dataclass(frozen=True, slots=True)
class Agent:
    """An approved API wallet: signs L1 actions for `master`; cannot sign user actions (transfers, approvals)."""

    address: str
    master: str
    name: str
