"""The exchange engine: one `Engine` that builds its parts and is what the server, the invariant checks and the
snapshots talk to. Every method runs on the server's event loop thread.

| part | job |
|---|---|
| `ledger.Ledger` | the state: accounts, agents, orders, cloids, fills, events; its snapshot (`to_json` / `load_json`) |
| `pricing.Pricing` | marks, the synthetic book, fee rates |
| `matching.Matcher` | placing, resting, triggering and filling orders; cancels and modifies |
| `margin.Margin`, `margin.liquidate` | margin checks, leverage changes, liquidation |
| `funding.charge_funding` | hourly funding |
| `agents` | funding an address, agents (API wallets) and the account a signer acts for |

It speaks domain objects only (`orders.py`): `wire.py` (in) and `shapes.py` (out) do JSON.
"""

from __future__ import annotations

import random
from typing import Any

from live.paper_exchange import accounts as acc
from live.paper_exchange import agents
from live.paper_exchange.config import PaperExchangeConfig
from live.paper_exchange.funding import charge_funding
from live.paper_exchange.ledger import Ledger
from live.paper_exchange.margin import Margin, liquidate
from live.paper_exchange.markets import Market, Universe
from live.paper_exchange.matching import Matcher
from live.paper_exchange.orders import (
    Agent,
    ApproveAgent,
    BatchModify,
    Cancel,
    Fill,
    Order,
    OrderOutcome,
    PlaceOrders,
    UpdateLeverage,
)
from live.paper_exchange.prices import PriceFeed, Segment
from live.paper_exchange.pricing import Book, Pricing


class Engine:
    """The exchange's state machine, driven by domain actions (`act`) and by price steps (`on_segment`)."""

    def __init__(self, cfg: PaperExchangeConfig, universe: Universe, feed: PriceFeed, rng: random.Random) -> None:
        self.cfg, self.universe, self.feed = cfg, universe, feed
        self.ledger = Ledger()
        self.pricing = Pricing(cfg, universe, feed)
        self.margin = Margin(cfg, universe, self.ledger, self.pricing)
        self.matcher = Matcher(cfg, universe, feed, self.ledger, self.pricing, self.margin, rng)

    # --- actions ----------------------------------------------------------------------------------------------
    def act(self, user: str, action: Any) -> Any:
        """Apply one validated domain action for `user`: a list of outcomes, or an error text / None."""
        if isinstance(action, PlaceOrders):
            return self.place(user, action)
        if isinstance(action, Cancel):
            return [self.matcher.cancel(user, c) for c in action.cancels]
        if isinstance(action, BatchModify):
            return [self.matcher.modify(user, m) for m in action.modifies]
        if isinstance(action, UpdateLeverage):
            return self.margin.update_leverage(user, action)
        if isinstance(action, ApproveAgent):
            return agents.approve_agent(self.ledger, user, action)
        raise TypeError(f"not an action: {action!r}")

    def place(self, user: str, p: PlaceOrders) -> list[OrderOutcome]:
        """An `order` action: one outcome per order."""
        return self.matcher.place(user, p)

    def fund(self, address: str, usd: float) -> acc.Account:
        return agents.fund(self.ledger, address, usd)

    def account_for(self, signer: str) -> str | None:
        return agents.account_for(self.ledger, signer)

    # --- price steps ------------------------------------------------------------------------------------------
    def on_segment(self, seg: Segment) -> None:
        """One replay step: funding on the hour and TP/SL hold-backs at a bar's open, triggers, resting limits,
        liquidations."""
        if seg.gap:
            charge_funding(self.ledger, self.pricing, self.feed, self.cfg.funding_rate_hourly, seg.bar)
            self.matcher.refresh_holds()
        self.matcher.on_segment(seg)
        liquidate(self.ledger, self.pricing, self.matcher, self.feed.now_ms)

    # --- reads ------------------------------------------------------------------------------------------------
    def mark(self, coin: str) -> float:
        return self.pricing.mark(coin)

    def marks(self) -> dict[str, float]:
        return self.pricing.marks()

    def position(self, user: str, coin: str) -> float:
        """`user`'s signed position size in `coin` (0 when flat)."""
        return self.ledger.position(user, coin)

    def book(self, market: Market, mid: float | None = None) -> Book:
        return self.pricing.book(market, mid)

    @property
    def accounts(self) -> dict[str, acc.Account]:
        return self.ledger.accounts

    @property
    def agents(self) -> dict[str, Agent]:
        return self.ledger.agents

    @property
    def orders(self) -> dict[int, Order]:
        return self.ledger.orders

    @property
    def open_orders(self) -> dict[str, dict[int, Order]]:
        return self.ledger.open_orders

    @property
    def cloids(self) -> dict[tuple[str, str], int]:
        return self.ledger.cloids

    @property
    def fills(self) -> dict[str, list[Fill]]:
        return self.ledger.fills

    def order_by_ref(self, user: str, ref: int | str | None) -> Order | None:
        return self.ledger.order_by_ref(user, ref)

    @property
    def has_events(self) -> bool:
        return bool(self.ledger.events)

    def take_events(self) -> list[tuple[str, str, Any]]:
        """The events queued since the last call, oldest first (the server publishes them)."""
        return self.ledger.take_events()

    # --- persistence ------------------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return self.ledger.to_json()

    def load_json(self, d: dict[str, Any]) -> None:
        self.ledger.load_json(d)
