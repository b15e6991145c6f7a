"""Orders, triggers and fills: the exchange's state machine, driven by signed actions and by price steps.

Price semantics shared with the backtest simulator: marketable orders walk a synthetic book at the touch;
a trigger order becomes a market order when the replayed path crosses its trigger price (fills around the
trigger price) or at the bar's open when the bar gaps through it; when one bar touches both the TP and the SL
of a position, the stop fills (the TP is held back for that bar). Resting limit orders fill at their limit
price (maker) when the path trades through it.
"""

from __future__ import annotations

import random
from dataclasses import asdict
from typing import Any

from eth_hash.auto import keccak

from live.paper_exchange import accounts as acc
from live.paper_exchange.config import PaperExchangeConfig
from live.paper_exchange.markets import Market, Universe, fmt_num, parse_decimal, price_valid, round_px, size_valid
from live.paper_exchange.order_views import order_view
from live.paper_exchange.orders import (
    ERR_ASSET,
    ERR_CANCEL,
    ERR_IOC,
    ERR_MARGIN,
    ERR_MIN,
    ERR_PARENT,
    ERR_REDUCE,
    ERR_REJECT,
    ERR_SIZE,
    ERR_TICK,
    ERR_TPSL,
    Order,
)
from live.paper_exchange.prices import PriceFeed, Segment, book_levels

Levels = tuple[tuple[float, float], ...]  # (price, size), best first
Book = tuple[Levels, Levels]  # (bids descending, asks ascending)
TRIGGER_SLIPPAGE = 0.10  # a triggered market order walks the book at most 10 % from its reference price


class Engine:
    """All order and account state; every method runs on the server's event loop thread."""

    def __init__(self, cfg: PaperExchangeConfig, universe: Universe, feed: PriceFeed, rng: random.Random) -> None:
        self.cfg = cfg
        self.universe = universe
        self.feed = feed
        self.reject_rng = rng
        self.accounts: dict[str, acc.Account] = {}
        self.orders: dict[int, Order] = {}
        self.open_orders: dict[str, dict[int, Order]] = {}  # user -> oid -> open/waiting order
        self.cloids: dict[tuple[str, str], int] = {}
        self.fills: dict[str, list[dict[str, Any]]] = {}
        self.next_oid = 1_000
        self.next_tid = 1
        self.events: list[tuple[str, str, Any]] = []  # (kind, key, payload) drained by the server after each call
        self._books: dict[str, tuple[float, Book]] = {}  # market -> (mid, book) of the last book built

    # --- prices -----------------------------------------------------------------------------------------------
    def mark(self, coin: str) -> float:
        return self.feed.price * self.universe.by_name[coin].scale

    def marks(self) -> dict[str, float]:
        p = self.feed.price
        return {m.name: p * m.scale for m in self.universe.markets()}

    def book(self, market: Market, mid: float | None = None) -> Book:
        """Rounded (price, size) levels: bids descending, asks ascending (read-only tuples).

        The book depends only on the mid, so the last one per market is memoised: every order between two replay
        steps reuses it instead of rebuilding and re-rounding 20 levels.
        """
        mid = self.mark(market.name) if mid is None else mid
        hit = self._books.get(market.name)
        if hit is not None and hit[0] == mid:
            return hit[1]
        c = self.cfg
        bids, asks = book_levels(mid, c.spread_bps, c.book_levels, c.level_step_bps, c.level_notional)
        lot = 10**market.sz_decimals

        def fix(levels: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
            return tuple((round_px(p, market), max(int(s * lot) / lot, 1 / lot)) for p, s in levels)

        book = (fix(bids), fix(asks))
        self._books[market.name] = (mid, book)
        return book

    def fee_rate(self, market: Market, maker: bool) -> float:
        base = self.cfg.maker_fee if maker else self.cfg.taker_fee
        return base * (self.cfg.hip3_fee_multiplier if market.is_builder else 1.0)

    # --- accounts ---------------------------------------------------------------------------------------------
    def fund(self, address: str, usd: float) -> acc.Account:
        address = address.lower()
        a = self.accounts.get(address)
        if a is None:
            a = self.accounts[address] = acc.Account(address, 0.0)
        a.balance += usd
        return a

    def _valuation(self, a: acc.Account) -> acc.Valuation:
        return acc.value(a, self.universe.by_name, self.marks())

    # --- placing ----------------------------------------------------------------------------------------------
    def place(self, user: str, wires: list[dict[str, Any]], grouping: str) -> list[Any]:
        """Handle an `order` action; one status per wire order."""
        statuses: list[Any] = []
        parent: Order | None = None
        parent_filled = False
        for i, w in enumerate(wires):
            child = grouping == "normalTpsl" and i > 0 and "trigger" in (w.get("t") or {})
            if child and parent is None:
                statuses.append({"error": ERR_PARENT})
                continue
            order, err = self._parse(user, w, position_tpsl=grouping == "positionTpsl")
            if err is not None:
                statuses.append({"error": err})
                if i == 0 and grouping == "normalTpsl":
                    parent = None
                continue
            assert order is not None
            if self.cfg.faults.reject_rate > 0 and self.reject_rng.random() < self.cfg.faults.reject_rate:
                statuses.append({"error": ERR_REJECT})
                continue
            if child and parent is not None:
                statuses.append(self._attach_child(parent, order, parent_filled))
                continue
            status = self._submit(order)
            statuses.append(status)
            if grouping == "normalTpsl" and i == 0:
                if "error" in status:
                    parent = None
                else:
                    parent = order
                    parent_filled = order.status == "filled"
        return statuses

    def _parse(self, user: str, w: dict[str, Any], position_tpsl: bool) -> tuple[Order | None, str | None]:
        try:
            market = self.universe.by_asset.get(int(w["a"]))
            is_buy, reduce_only, kind = bool(w["b"]), bool(w["r"]), w["t"]
            px_d, sz_d = parse_decimal(w["p"]), parse_decimal(w["s"])
        except (KeyError, TypeError, ValueError):
            return None, ERR_ASSET
        if market is None:
            return None, ERR_ASSET
        if px_d is None or not price_valid(px_d, market):
            return None, ERR_TICK
        if (sz_d is None or not size_valid(sz_d, market)) and not (position_tpsl and sz_d == 0):
            return None, ERR_SIZE
        cloid = w.get("c")
        if cloid is not None and (user, str(cloid).lower()) in self.cloids:
            return None, "Duplicate cloid."
        order = Order(
            oid=0,
            user=user,
            coin=market.name,
            is_buy=is_buy,
            px=float(px_d),
            sz=float(sz_d or 0),
            orig_sz=float(sz_d or 0),
            reduce_only=reduce_only,
            timestamp=self.feed.now_ms,
            cloid=None if cloid is None else str(cloid).lower(),
        )
        if isinstance(kind, dict) and "limit" in kind:
            tif = kind["limit"].get("tif") if isinstance(kind["limit"], dict) else None
            if tif not in ("Gtc", "Ioc", "Alo"):
                return None, "Invalid TIF."
            order.tif = tif
        elif isinstance(kind, dict) and "trigger" in kind:
            t = kind["trigger"]
            trig = parse_decimal(t.get("triggerPx")) if isinstance(t, dict) else None
            if trig is None or t.get("tpsl") not in ("tp", "sl") or not price_valid(trig, market):
                return None, ERR_TPSL
            order.trigger_px = float(trig)
            order.is_market = bool(t.get("isMarket", True))
            order.tpsl = t["tpsl"]
            order.position_tpsl = position_tpsl
        else:
            return None, "Invalid order type."
        mark = self.mark(market.name)
        if not reduce_only and order.sz * mark < self.cfg.min_order_value:
            return None, ERR_MIN
        return order, None

    def _new_oid(self, order: Order) -> None:
        order.oid = self.next_oid
        self.next_oid += 1
        self.orders[order.oid] = order
        if order.cloid is not None:
            self.cloids[(order.user, order.cloid)] = order.oid

    def _ident(self, order: Order, body: dict[str, Any]) -> dict[str, Any]:
        body["oid"] = order.oid
        if order.cloid is not None:
            body["cloid"] = order.cloid
        return body

    def _position(self, user: str, coin: str) -> float:
        a = self.accounts.get(user)
        p = a.positions.get(coin) if a else None
        return p.szi if p else 0.0

    def _margin_error(self, order: Order, market: Market) -> str | None:
        """Insufficient margin when the order's increase of exposure needs more than the free margin."""
        a = self.accounts[order.user]
        pos = self._position(order.user, order.coin)
        signed = order.sz if order.is_buy else -order.sz
        increase = max(0.0, abs(pos + signed) - abs(pos))
        if increase <= 0:
            return None
        lev, _ = a.leverage_for(market, self.cfg.default_leverage)
        val = self._valuation(a)
        need = increase * self.mark(order.coin) / lev + increase * self.mark(order.coin) * self.fee_rate(market, False)
        return ERR_MARGIN if need > val.account_value - val.margin_used + 1e-9 else None

    def _submit(self, order: Order) -> Any:
        market = self.universe.by_name[order.coin]
        pos = self._position(order.user, order.coin)
        if order.reduce_only and not order.position_tpsl and (pos == 0 or (pos > 0) == order.is_buy):
            return {"error": ERR_REDUCE}
        if not order.reduce_only:
            err = self._margin_error(order, market)
            if err:
                return {"error": err}
        self._new_oid(order)
        if order.is_trigger:
            return self._rest_trigger(order)
        bids, asks = self.book(market)
        crosses = (asks[0][0] <= order.px) if order.is_buy else (bids[0][0] >= order.px)
        if order.tif == "Alo" and crosses:
            self._close(order, "rejected")
            return {
                "error": f"Post only order would have immediately matched, bbo was {fmt_num(bids[0][0])}@"
                f"{fmt_num(asks[0][0])}. asset={market.asset}"
            }
        if order.reduce_only:
            order.sz = min(order.sz, abs(pos))
        filled, avg = self._take(order, market, bids, asks, order.px) if crosses else (0.0, 0.0)
        if order.tif == "Ioc" or order.sz <= 0:
            if filled <= 0:
                self._close(order, "canceled")
                return {"error": ERR_IOC}
            self._close(order, "filled")
            return {
                "filled": self._ident(order, {"totalSz": fmt_num(filled, market.sz_decimals), "avgPx": fmt_num(avg, 8)})
            }
        if order.sz <= 1e-12:
            self._close(order, "filled")
            return {
                "filled": self._ident(order, {"totalSz": fmt_num(filled, market.sz_decimals), "avgPx": fmt_num(avg, 8)})
            }
        self._rest(order)
        return {"resting": self._ident(order, {})}

    def _rest(self, order: Order) -> None:
        order.status = "open"
        order.status_ts = self.feed.now_ms
        self.open_orders.setdefault(order.user, {})[order.oid] = order
        self._order_event(order)

    def _rest_trigger(self, order: Order) -> Any:
        self._rest(order)
        mark = self.mark(order.coin)
        assert order.trigger_px is not None
        if (mark >= order.trigger_px) if order.fires_above() else (mark <= order.trigger_px):
            self._fire(order, mark)
        return {"resting": self._ident(order, {})}

    def _attach_child(self, parent: Order, child: Order, parent_filled: bool) -> Any:
        self._new_oid(child)
        child.parent = parent.oid
        parent.children.append(child.oid)
        if parent_filled:
            child.parent = None
            return self._rest_trigger(child)
        child.status = "waiting"
        child.status_ts = self.feed.now_ms
        self.open_orders.setdefault(child.user, {})[child.oid] = child
        return "waitingForFill"

    def _close(self, order: Order, status: str) -> None:
        order.status = status
        order.status_ts = self.feed.now_ms
        book = self.open_orders.get(order.user)
        if book is not None:
            book.pop(order.oid, None)
        self._order_event(order)
        if status != "filled":
            for cid in order.children:
                ch = self.orders.get(cid)
                if ch is not None and ch.status == "waiting":
                    self._close(ch, "canceled")

    # --- fills ------------------------------------------------------------------------------------------------
    def _take(
        self,
        order: Order,
        market: Market,
        bids: Levels,
        asks: Levels,
        limit: float,
    ) -> tuple[float, float]:
        """Walk the opposite side up to `limit`; returns (filled size, average price). Reduces `order.sz`."""
        levels = asks if order.is_buy else bids
        lot = 10**market.sz_decimals
        filled = notional = 0.0
        for px, avail in levels:
            if order.sz <= 1e-12 or (px > limit if order.is_buy else px < limit):
                break
            q = min(order.sz, avail)
            q = round(int(round(q * lot, 6)) / lot, market.sz_decimals)
            if q <= 0:
                break
            self._fill(order, market, px, q, maker=False)
            filled += q
            notional += q * px
            order.sz = round(order.sz - q, market.sz_decimals)
        return filled, (notional / filled if filled else 0.0)

    def _fill(self, order: Order, market: Market, px: float, sz: float, maker: bool) -> None:
        a = self.accounts[order.user]
        fee = sz * px * self.fee_rate(market, maker)
        eff = acc.apply_fill(a, market, order.is_buy, sz, px, fee, self.cfg.default_leverage)
        tid = self.next_tid
        self.next_tid += 1
        fill = {
            "coin": order.coin,
            "px": fmt_num(px, 8),
            "sz": fmt_num(sz, market.sz_decimals),
            "side": "B" if order.is_buy else "A",
            "time": self.feed.now_ms,
            "startPosition": fmt_num(eff.start_position, market.sz_decimals),
            "dir": eff.direction,
            "closedPnl": fmt_num(eff.closed_pnl),
            "hash": "0x" + keccak(tid.to_bytes(8, "big")).hex(),
            "oid": order.oid,
            "crossed": not maker,
            "fee": fmt_num(fee),
            "tid": tid,
            "feeToken": "USDC",
        }
        if order.cloid is not None:
            fill["cloid"] = order.cloid
        lst = self.fills.setdefault(order.user, [])
        lst.append(fill)
        if len(lst) > self.cfg.max_fills_per_user:
            del lst[: len(lst) - self.cfg.max_fills_per_user]
        self.events.append(("fill", order.user, fill))
        trade = {
            "coin": order.coin,
            "side": fill["side"],
            "px": fill["px"],
            "sz": fill["sz"],
            "hash": fill["hash"],
            "time": fill["time"],
            "tid": tid,
            "users": [order.user, "0x0000000000000000000000000000000000000000"][:: 1 if order.is_buy else -1],
        }
        self.events.append(("trade", order.coin, trade))
        if eff.flat:
            self._on_flat(order.user, order.coin, exclude=order.oid)
        for cid in order.children:  # normalTpsl: children go live once the parent fills
            ch = self.orders.get(cid)
            if ch is not None and ch.status == "waiting":
                ch.parent = None
                self._rest_trigger(ch)

    def _on_flat(self, user: str, coin: str, exclude: int) -> None:
        """A position went flat: its reduce-only triggers (TP/SL) are cancelled."""
        for o in list(self.open_orders.get(user, {}).values()):
            if o.coin == coin and o.oid != exclude and o.is_trigger and o.reduce_only and o.status == "open":
                self._close(o, "reduceOnlyCanceled")

    def _fire(self, order: Order, ref: float) -> None:
        """A trigger fired at reference price `ref`: it becomes a market (or limit) order now."""
        market = self.universe.by_name[order.coin]
        order.status = "triggered"
        order.status_ts = self.feed.now_ms
        self._order_event(order)
        if order.reduce_only:
            pos = self._position(order.user, order.coin)
            if pos == 0 or (pos > 0) == order.is_buy:
                self._close(order, "reduceOnlyCanceled")
                return
            order.sz = abs(pos) if order.position_tpsl or order.sz > abs(pos) else order.sz
        bids, asks = self.book(market, ref)
        if order.is_market:
            limit = ref * (1 + TRIGGER_SLIPPAGE) if order.is_buy else ref * (1 - TRIGGER_SLIPPAGE)
        else:
            limit = order.px
        self._take(order, market, bids, asks, limit)
        if order.sz > 1e-12 and not order.is_market:
            order.trigger_px = None
            order.tif = "Gtc"
            self._rest(order)
            return
        self._close(order, "filled" if order.sz <= 1e-12 else "canceled")

    # --- price steps ------------------------------------------------------------------------------------------
    def on_segment(self, seg: Segment) -> None:
        """Apply one replay step: funding on the hour, TP/SL hold-back, triggers, resting limits, liquidations."""
        if seg.gap:
            self._funding_if_new_hour(seg.bar)
            self._hold_take_profits(seg.bar)
        for user in list(self.open_orders):
            for o in sorted(self.open_orders.get(user, {}).values(), key=lambda o: (o.tpsl != "sl", o.oid)):
                if o.status != "open" or o.oid not in self.open_orders.get(user, {}):
                    continue
                scale = self.universe.by_name[o.coin].scale
                start, end = seg.start * scale, seg.end * scale
                lo, hi = min(start, end), max(start, end)
                if o.is_trigger:
                    if o.hold_bar == seg.bar:
                        continue
                    t = o.trigger_px
                    assert t is not None
                    hit = hi >= t if o.fires_above() else lo <= t
                    if hit:
                        beyond = start >= t if o.fires_above() else start <= t
                        self._fire(o, end if seg.gap else (start if beyond else t))
                elif (o.is_buy and lo <= o.px) or (not o.is_buy and hi >= o.px):
                    self._fill_resting(o)
        self._liquidate()

    def _fill_resting(self, o: Order) -> None:
        market = self.universe.by_name[o.coin]
        if o.reduce_only:
            pos = self._position(o.user, o.coin)
            if pos == 0 or (pos > 0) == o.is_buy:
                self._close(o, "reduceOnlyCanceled")
                return
            o.sz = min(o.sz, abs(pos))
        sz = o.sz
        o.sz = 0.0
        self._fill(o, market, o.px, sz, maker=True)
        self._close(o, "filled")

    def _hold_take_profits(self, bar: int) -> None:
        """Conservative rule: if this bar touches both a position's TP and SL, only the stop may fire."""
        lo, hi = self.feed.bar_range(bar)
        for _user, book in self.open_orders.items():
            by_coin: dict[str, list[Order]] = {}
            for o in book.values():
                if o.is_trigger and o.reduce_only and o.status == "open":
                    by_coin.setdefault(o.coin, []).append(o)
            for coin, orders in by_coin.items():
                scale = self.universe.by_name[coin].scale
                touched = [o for o in orders if lo * scale <= o.trigger_px <= hi * scale]  # type: ignore[operator]
                if any(o.tpsl == "sl" for o in touched):
                    for o in touched:
                        if o.tpsl == "tp":
                            o.hold_bar = bar

    def _funding_if_new_hour(self, bar: int) -> None:
        t = self.feed.t_ms
        if bar == 0 or t[bar] // 3_600_000 == t[bar - 1] // 3_600_000 or self.cfg.funding_rate_hourly == 0:
            return
        marks = self.marks()
        for a in self.accounts.values():
            for coin, p in a.positions.items():
                acc.apply_funding(a, p, marks[coin], self.cfg.funding_rate_hourly)

    def _liquidate(self) -> None:
        marks = self.marks()
        for a in self.accounts.values():
            if not a.positions:
                continue
            for coin in acc.needs_liquidation(a, self.universe.by_name, marks):
                p = a.positions.get(coin)
                if p is None:
                    continue
                market = self.universe.by_name[coin]
                o = Order(0, a.address, coin, p.szi < 0, 0.0, abs(p.szi), abs(p.szi), True, self.feed.now_ms)
                o.tif = "Ioc"
                self._new_oid(o)
                bids, asks = self.book(market)
                self._take(o, market, bids, asks, float("inf") if o.is_buy else 0.0)
                self._close(o, "filled")
                self.events.append(("liquidation", a.address, {"coin": coin}))

    # --- cancels, modifies, leverage --------------------------------------------------------------------------
    def cancel(self, user: str, oid: Any, asset: Any) -> Any:
        o = self.open_orders.get(user, {}).get(oid) if isinstance(oid, int) else None
        market = self.universe.by_asset.get(asset) if isinstance(asset, int) else None
        if o is None or market is None or o.coin != market.name:
            return {"error": ERR_CANCEL}
        self._close(o, "canceled")
        return "success"

    def cancel_by_cloid(self, user: str, cloid: Any, asset: Any) -> Any:
        oid = self.cloids.get((user, str(cloid).lower()))
        return self.cancel(user, oid, asset) if oid is not None else {"error": ERR_CANCEL}

    def modify(self, user: str, oid: Any, wire: dict[str, Any]) -> Any:
        if isinstance(oid, str):
            oid = self.cloids.get((user, oid.lower()))
        o = self.open_orders.get(user, {}).get(oid) if isinstance(oid, int) else None
        if o is None:
            return {"error": "Cannot modify canceled or filled order"}
        saved_cloid = o.cloid
        if saved_cloid is not None:
            self.cloids.pop((user, saved_cloid), None)
        new, err = self._parse(user, wire, position_tpsl=o.position_tpsl)
        if err is not None or new is None:
            if saved_cloid is not None:
                self.cloids[(user, saved_cloid)] = o.oid
            return {"error": err}
        self._close(o, "canceled")
        return self._submit(new)

    def update_leverage(self, user: str, asset: Any, is_cross: Any, leverage: Any) -> str | None:
        market = self.universe.by_asset.get(asset) if isinstance(asset, int) else None
        if market is None:
            return ERR_ASSET
        if not isinstance(leverage, int) or isinstance(leverage, bool) or not 1 <= leverage <= market.max_leverage:
            return "Invalid leverage value."
        a = self.accounts[user]
        pos = a.positions.get(market.name)
        if pos is not None and pos.is_cross != bool(is_cross):
            return "Cannot switch leverage type with open position."
        a.leverage[market.name] = [leverage, bool(is_cross)]
        if pos is not None:
            if not pos.is_cross:
                need = abs(pos.szi) * pos.entry_px / leverage
                a.balance -= need - pos.margin
                pos.margin = need
            pos.leverage = leverage
        return None

    def _order_event(self, o: Order) -> None:
        status = "open" if o.status == "waiting" else o.status
        self.events.append(
            ("order", o.user, {"order": order_view(self, o), "status": status, "statusTimestamp": o.status_ts})
        )

    # --- persistence ------------------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "accounts": {k: a.to_json() for k, a in self.accounts.items()},
            "orders": [asdict(o) for o in self.orders.values() if o.status in ("open", "waiting")],
            "history": [
                [o.oid, o.user, o.coin, o.status, o.status_ts, o.cloid]
                for o in self.orders.values()
                if o.status not in ("open", "waiting")
            ][-20_000:],
            "fills": self.fills,
            "next_oid": self.next_oid,
            "next_tid": self.next_tid,
        }

    def load_json(self, d: dict[str, Any]) -> None:
        self.accounts = {k: acc.Account.from_json(v) for k, v in d.get("accounts", {}).items()}
        self.fills = {k: list(v) for k, v in d.get("fills", {}).items()}
        self.next_oid = int(d.get("next_oid", self.next_oid))
        self.next_tid = int(d.get("next_tid", self.next_tid))
        self.orders, self.open_orders, self.cloids = {}, {}, {}
        for oid, user, coin, status, ts, cloid in d.get("history", []):
            o = Order(oid, user, coin, False, 0.0, 0.0, 0.0, False, ts, cloid=cloid, status=status, status_ts=ts)
            self.orders[oid] = o
            if cloid is not None:
                self.cloids[(user, cloid)] = oid
        for od in d.get("orders", []):
            o = Order(**od)
            self.orders[o.oid] = o
            self.open_orders.setdefault(o.user, {})[o.oid] = o
            if o.cloid is not None:
                self.cloids[(o.user, o.cloid)] = o.oid
