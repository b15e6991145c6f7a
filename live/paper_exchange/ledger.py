"""The exchange's state in one object, and its persistence: accounts, agents, orders, cloids, fills, events.

Every part of the engine (`matching`, `margin`, `funding`, `agents`) reads and changes this one `Ledger`; `to_json` /
`load_json` are what a snapshot holds of it (`server.PaperExchange.snapshot`, `state.py`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from live.paper_exchange import accounts as acc
from live.paper_exchange.orders import Agent, Fill, Order

_ORDER_FIELDS = [f.name for f in fields(Order) if f.name not in ("children", "parent", "hold_bar")]


@dataclass
class Ledger:
    """All order and account state; changed only on the server's event loop thread."""

    accounts: dict[str, acc.Account] = field(default_factory=dict)
    agents: dict[str, Agent] = field(default_factory=dict)  # agent address -> agent
    orders: dict[int, Order] = field(default_factory=dict)
    open_orders: dict[str, dict[int, Order]] = field(default_factory=dict)  # user -> oid -> open/waiting order
    cloids: dict[tuple[str, str], int] = field(default_factory=dict)
    fills: dict[str, list[Fill]] = field(default_factory=dict)
    closed: deque[int] = field(default_factory=deque)  # closed oids, oldest first (pruned beyond max_order_history)
    next_oid: int = 1_000
    next_tid: int = 1
    events: list[tuple[str, str, Any]] = field(default_factory=list)  # (kind, key, payload) the server publishes

    def new_oid(self, order: Order) -> None:
        """Number `order` and file it (and its cloid)."""
        order.oid = self.next_oid
        self.next_oid += 1
        self.orders[order.oid] = order
        if order.cloid is not None:
            self.cloids[(order.user, order.cloid)] = order.oid

    def new_tid(self) -> int:
        tid = self.next_tid
        self.next_tid += 1
        return tid

    def position(self, user: str, coin: str) -> float:
        a = self.accounts.get(user)
        p = a.positions.get(coin) if a else None
        return p.szi if p else 0.0

    def order_by_ref(self, user: str, ref: int | str | None) -> Order | None:
        """`user`'s order by oid or cloid (any status still remembered)."""
        oid = self.cloids.get((user, ref)) if isinstance(ref, str) else ref
        o = self.orders.get(oid) if oid is not None else None
        return o if o is not None and o.user == user else None

    def open_order(self, user: str, ref: int | str | None) -> Order | None:
        """`user`'s open (or waiting) order by oid or cloid."""
        oid = self.cloids.get((user, ref)) if isinstance(ref, str) else ref
        return self.open_orders.get(user, {}).get(oid) if oid is not None else None

    def forget(self, oid: int) -> None:
        """Drop a closed order from memory (its cloid may be used again)."""
        o = self.orders.get(oid)
        if o is None or o.status in ("open", "waiting"):
            return
        del self.orders[oid]
        if o.cloid is not None and self.cloids.get((o.user, o.cloid)) == oid:
            del self.cloids[(o.user, o.cloid)]

    def take_events(self) -> list[tuple[str, str, Any]]:
        """The events queued since the last call (fills, order updates, funding, liquidations), oldest first."""
        events, self.events = self.events, []
        return events

    # --- persistence ----------------------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "accounts": {k: a.to_json() for k, a in self.accounts.items()},
            "agents": {k: [ag.master, ag.name] for k, ag in self.agents.items()},
            "orders": [asdict(o) for o in self.orders.values() if o.status in ("open", "waiting")],
            "history": [
                [getattr(self.orders[oid], f) for f in _ORDER_FIELDS] for oid in self.closed if oid in self.orders
            ],
            "fills": {u: [_fill_row(f) for f in rows] for u, rows in self.fills.items()},
            "next_oid": self.next_oid,
            "next_tid": self.next_tid,
        }

    def load_json(self, d: dict[str, Any]) -> None:
        self.accounts = {k: acc.Account.from_json(v) for k, v in d.get("accounts", {}).items()}
        self.agents = {k: Agent(k, m, n) for k, (m, n) in d.get("agents", {}).items()}
        self.fills = {u: [Fill(u, *row) for row in rows] for u, rows in d.get("fills", {}).items()}
        self.next_oid = int(d.get("next_oid", self.next_oid))
        self.next_tid = int(d.get("next_tid", self.next_tid))
        self.orders, self.open_orders, self.cloids, self.closed = {}, {}, {}, deque()
        for row in d.get("history", []):
            o = Order(**dict(zip(_ORDER_FIELDS, row)))
            self.orders[o.oid] = o
            self.closed.append(o.oid)
            if o.cloid is not None:
                self.cloids[(o.user, o.cloid)] = o.oid
        for od in d.get("orders", []):
            o = Order(**od)
            self.orders[o.oid] = o
            self.open_orders.setdefault(o.user, {})[o.oid] = o
            if o.cloid is not None:
                self.cloids[(o.user, o.cloid)] = o.oid


def _fill_row(f: Fill) -> list[Any]:
    return [getattr(f, k.name) for k in fields(Fill)][1:]  # the user is the key
