"""Orders, triggers and fills: placing, resting, triggering and filling orders, driven by actions and price steps.

`Matcher` speaks domain objects only (`orders.py`); it reads and changes the `Ledger`, prices at `Pricing`'s book and
asks `Margin` whether an order fits. Price semantics shared with the backtest simulator (`backtest/sim/rules.py`),
whose rule functions it calls rather than restating them: marketable orders walk a synthetic book at the touch; a
trigger becomes a market order when the replayed path crosses its trigger price (it fills around the trigger) or at
the bar's open when the bar gaps through it (`gap_exit`); when the rest of a bar touches both a position's TP and SL,
the stop fills and the TP is held back for that bar (`intrabar_exit` with stop first). Resting limit orders fill at
their limit price (maker) when the path trades strictly through it (`traded_through`: a touch does not fill), and a
resting reduce-only limit waits for the stop like a TP; within one step the levels fill in the order the path meets
them.
"""

from __future__ import annotations

import copy
import math
import random

from backtest.sim.layout import R_STOP_LOSS
from backtest.sim.rules import gap_exit, intrabar_exit, traded_through
from backtest.venue.errors import (
    ERR_ASSET,
    ERR_CANCEL,
    ERR_IOC,
    ERR_MODIFY,
    ERR_PARENT,
    ERR_REDUCE,
    ERR_REJECT,
    err_post_only,
)
from backtest.venue.rules import trigger_limit
from live.paper_exchange import accounts as acc
from live.paper_exchange.config import PaperExchangeConfig
from live.paper_exchange.ledger import Ledger
from live.paper_exchange.margin import Margin
from live.paper_exchange.markets import Market, Universe, fmt_num
from live.paper_exchange.orders import (
    SUCCESS,
    WAITING,
    CancelRequest,
    Fill,
    Filled,
    ModifyRequest,
    Order,
    OrderOutcome,
    OrderRequest,
    PlaceOrders,
    Rejected,
    Resting,
)
from live.paper_exchange.prices import PriceFeed, Segment
from live.paper_exchange.pricing import Levels, Pricing
from live.paper_exchange.validation import order_from


class Matcher:
    """Order placement, cancels, modifies, triggers and fills (see the module docstring)."""

    def __init__(
        self,
        cfg: PaperExchangeConfig,
        universe: Universe,
        feed: PriceFeed,
        ledger: Ledger,
        pricing: Pricing,
        margin: Margin,
        reject_rng: random.Random,
    ) -> None:
        self.cfg, self.universe, self.feed = cfg, universe, feed
        self.ledger, self.pricing, self.margin = ledger, pricing, margin
        self.reject_rng = reject_rng

    # --- placing ----------------------------------------------------------------------------------------------
    def place(self, user: str, p: PlaceOrders) -> list[OrderOutcome]:
        """Handle an `order` action; one outcome per order."""
        statuses: list[OrderOutcome] = []
        parent: Order | None = None
        parent_filled = False
        for i, req in enumerate(p.orders):
            child = p.grouping == "normalTpsl" and i > 0 and req.trigger_px is not None
            if child and parent is None:
                statuses.append(Rejected(ERR_PARENT))
                continue
            order, err = self._order_from(user, req, position_tpsl=p.grouping == "positionTpsl")
            if err is not None or order is None:
                statuses.append(Rejected(err or ERR_ASSET))
                continue
            if self.cfg.faults.reject_rate > 0 and self.reject_rng.random() < self.cfg.faults.reject_rate:
                statuses.append(Rejected(ERR_REJECT))
                continue
            if child and parent is not None:
                statuses.append(self._attach_child(parent, order, parent_filled))
                continue
            status = self._submit(order)
            statuses.append(status)
            if p.grouping == "normalTpsl" and i == 0:
                if isinstance(status, Rejected):
                    parent = None
                else:
                    parent = order
                    parent_filled = order.status == "filled"
        return statuses

    def _order_from(self, user: str, req: OrderRequest, position_tpsl: bool) -> tuple[Order | None, str | None]:
        return order_from(req, user, position_tpsl, self.pricing, self.ledger.cloids, self.feed.now_ms)

    def _submit(self, order: Order) -> OrderOutcome:
        market = self.universe.by_name[order.coin]
        pos = self.ledger.position(order.user, order.coin)
        if order.reduce_only and not order.position_tpsl and (pos == 0 or (pos > 0) == order.is_buy):
            return Rejected(ERR_REDUCE)
        if not order.reduce_only:
            err = self.margin.error(order, market, self.margin.fill_price_estimate(order, market))
            if err:
                return Rejected(err)
        self.ledger.new_oid(order)
        if order.is_trigger:
            return self._rest_trigger(order)
        bids, asks = self.pricing.book(market)
        crosses = (asks[0][0] <= order.px) if order.is_buy else (bids[0][0] >= order.px)
        if order.tif == "Alo" and crosses:
            self.close(order, "rejected")
            return Rejected(err_post_only(fmt_num(bids[0][0]), fmt_num(asks[0][0]), market.asset))
        if order.reduce_only:
            order.sz = min(order.sz, abs(pos))
        filled, avg = self._take(order, market, bids, asks, order.px) if crosses else (0.0, 0.0)
        if order.tif == "Ioc" or order.sz <= 1e-12:
            if filled <= 0:
                self.close(order, "canceled")
                return Rejected(ERR_IOC)
            self.close(order, "filled")
            return Filled(order.oid, order.cloid, order.coin, filled, avg)
        self._rest(order)
        return Resting(order.oid, order.cloid)

    def _rest(self, order: Order) -> None:
        order.status = "open"
        order.status_ts = self.feed.now_ms
        self.ledger.open_orders.setdefault(order.user, {})[order.oid] = order
        self._order_event(order)
        if order.reduce_only:  # a TP trigger or a resting exit limit may have to wait for the stop this bar
            self._refresh_hold(order.user, order.coin)

    def _rest_trigger(self, order: Order) -> OrderOutcome:
        self._rest(order)
        mark = self.pricing.mark(order.coin)
        assert order.trigger_px is not None
        if (mark >= order.trigger_px) if order.fires_above() else (mark <= order.trigger_px):
            self._fire(order, mark)
        return Resting(order.oid, order.cloid)

    def _attach_child(self, parent: Order, child: Order, parent_filled: bool) -> OrderOutcome:
        self.ledger.new_oid(child)
        child.parent = parent.oid
        parent.children.append(child.oid)
        if parent_filled:
            child.parent = None
            return self._rest_trigger(child)
        child.status = "waiting"
        child.status_ts = self.feed.now_ms
        self.ledger.open_orders.setdefault(child.user, {})[child.oid] = child
        return WAITING

    def close(self, order: Order, status: str) -> None:
        """Take `order` off the book with `status` (filled, canceled, ...); its waiting children go with it."""
        order.status = status
        order.status_ts = self.feed.now_ms
        book = self.ledger.open_orders.get(order.user)
        if book is not None:
            book.pop(order.oid, None)
        self._order_event(order)
        if status in ("reduceOnlyCanceled", "marginCanceled"):
            self.ledger.events.append(("nonUserCancel", order.user, (order.coin, order.oid)))
        if status != "filled":
            for cid in order.children:
                ch = self.ledger.orders.get(cid)
                if ch is not None and ch.status == "waiting":
                    self.close(ch, "canceled")
        if order.is_trigger and order.reduce_only:
            self._refresh_hold(order.user, order.coin)
        closed = self.ledger.closed
        closed.append(order.oid)
        if len(closed) > self.cfg.max_order_history:
            self.ledger.forget(closed.popleft())

    def _order_event(self, o: Order) -> None:
        self.ledger.events.append(("order", o.user, copy.copy(o)))

    # --- fills ------------------------------------------------------------------------------------------------
    def _take(self, order: Order, market: Market, bids: Levels, asks: Levels, limit: float) -> tuple[float, float]:
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
            self.fill(order, market, px, q, maker=False)
            filled += q
            notional += q * px
            order.sz = round(order.sz - q, market.sz_decimals)
        return filled, (notional / filled if filled else 0.0)

    def fill(self, order: Order, market: Market, px: float, sz: float, maker: bool, liquidation: bool = False) -> None:
        """Execute `sz` of `order` at `px`: the account, the fill record and event, what a fill sets off."""
        led = self.ledger
        a = led.accounts[order.user]
        fee = sz * px * self.pricing.fee_rate(market, maker)
        eff = acc.apply_fill(a, market, order.is_buy, sz, px, fee, self.cfg.default_leverage)
        f = Fill(
            order.user, order.coin, px, sz, order.is_buy, self.feed.now_ms, eff.start_position, eff.direction,
            eff.closed_pnl, order.oid, not maker, fee, led.new_tid(), order.cloid, liquidation,
        )  # fmt: skip
        lst = led.fills.setdefault(order.user, [])
        lst.append(f)
        if len(lst) > self.cfg.max_fills_per_user:
            del lst[: len(lst) - self.cfg.max_fills_per_user]
        led.events.append(("fill", order.user, f))
        if eff.flat:
            self._on_flat(order.user, order.coin, exclude=order.oid)
        else:
            self._refresh_hold(order.user, order.coin)
        for cid in order.children:  # normalTpsl: children go live once the parent fills
            ch = led.orders.get(cid)
            if ch is not None and ch.status == "waiting":
                ch.parent = None
                self._rest_trigger(ch)

    def _on_flat(self, user: str, coin: str, exclude: int) -> None:
        """A position went flat: its reduce-only triggers (TP/SL) are cancelled."""
        for o in list(self.ledger.open_orders.get(user, {}).values()):
            if o.coin == coin and o.oid != exclude and o.is_trigger and o.reduce_only and o.status == "open":
                self.close(o, "reduceOnlyCanceled")

    def _fire(self, order: Order, ref: float) -> None:
        """A trigger fired at reference price `ref`: it becomes a market (or limit) order now."""
        market = self.universe.by_name[order.coin]
        order.status = "triggered"
        order.status_ts = self.feed.now_ms
        self._order_event(order)
        if order.reduce_only:
            pos = self.ledger.position(order.user, order.coin)
            if pos == 0 or (pos > 0) == order.is_buy:
                self.close(order, "reduceOnlyCanceled")
                return
            order.sz = abs(pos) if order.position_tpsl or order.sz > abs(pos) else order.sz
        elif self.margin.error(order, market, self.margin.fill_price_estimate(order, market, ref)):
            self.close(order, "marginCanceled")
            return
        bids, asks = self.pricing.book(market, ref)
        if order.is_market:
            limit = trigger_limit(ref, order.is_buy)
        else:
            limit = order.px
        self._take(order, market, bids, asks, limit)
        if order.sz > 1e-12 and not order.is_market:
            order.trigger_px = None
            order.tif = "Gtc"
            self._rest(order)
            return
        self.close(order, "filled" if order.sz <= 1e-12 else "canceled")

    def _fill_resting(self, o: Order) -> None:
        market = self.universe.by_name[o.coin]
        if o.reduce_only:
            pos = self.ledger.position(o.user, o.coin)
            if pos == 0 or (pos > 0) == o.is_buy:
                self.close(o, "reduceOnlyCanceled")
                return
            o.sz = min(o.sz, abs(pos))
        elif self.margin.error(o, market, max(o.px, self.pricing.mark(o.coin))):
            self.close(o, "marginCanceled")
            return
        sz = o.sz
        o.sz = 0.0
        self.fill(o, market, o.px, sz, maker=True)
        self.close(o, "filled")

    # --- the simulator's exit rules -------------------------------------------------------------------------
    def _refresh_hold(self, user: str, coin: str) -> None:
        """Hold a position's TPs back for the rest of this bar when that rest touches both its TP and its SL.

        The decision is the simulator's own (`intrabar_exit` with the stop first) over the range the rest of the
        bar covers, so it holds for a position opened at the open as for one carried in; a bar that gaps through a
        level (`gap_exit`) fires that level at the open instead, and holds nothing.
        """
        pos = self.ledger.position(user, coin)
        book = self.ledger.open_orders.get(user, {})
        levels = [o for o in book.values() if o.coin == coin and o.is_trigger and o.reduce_only and o.status == "open"]
        limits = [
            o for o in book.values() if o.coin == coin and not o.is_trigger and o.reduce_only and o.status == "open"
        ]
        if not levels:
            for o in limits:
                o.hold_bar = -1
            return
        side = 1.0 if pos > 0 else -1.0
        closing = [o for o in levels if pos != 0 and o.is_buy == (side < 0)]
        sls = [o.trigger_px for o in closing if o.tpsl == "sl" and o.trigger_px is not None]
        tps = [o.trigger_px for o in closing if o.tpsl == "tp" and o.trigger_px is not None]
        hold = hold_limits = False
        if sls:
            sl = max(sls) if side > 0 else min(sls)
            tp = (min(tps) if side > 0 else max(tps)) if tps else side * math.inf
            scale = self.universe.by_name[coin].scale
            lo, hi = self.feed.remaining_range()
            o = self.feed.price * scale
            at_open = self.feed.point == 0 and gap_exit(side, o, sl, tp) != -1
            hold = (
                bool(tps) and not at_open and intrabar_exit(side, hi * scale, lo * scale, sl, tp, True) == R_STOP_LOSS
            )
            # a resting exit limit (the simulator's exit order) also waits when the rest of the bar reaches the stop
            hold_limits = not at_open and intrabar_exit(side, hi * scale, lo * scale, sl, side * math.inf, True) != -1
        for o in levels:
            if o.tpsl == "tp":
                o.hold_bar = self.feed.bar if hold else -1
        for o in limits:
            o.hold_bar = self.feed.bar if hold_limits and o.is_buy == (side < 0) else -1

    def refresh_holds(self) -> None:
        """At a bar's open: every position's TP hold-back decided afresh for the new bar."""
        for user, book in list(self.ledger.open_orders.items()):
            for coin in {o.coin for o in book.values() if o.is_trigger and o.reduce_only}:
                self._refresh_hold(user, coin)

    # --- price steps ------------------------------------------------------------------------------------------
    def on_segment(self, seg: Segment) -> None:
        """One replay step: triggers the path crossed fire (a held-back TP waits), resting limits it traded through
        fill."""
        open_orders = self.ledger.open_orders
        for user in list(open_orders):
            # stops first, then the levels in the order the path reaches them (nearest to where the step starts)
            for o in sorted(open_orders.get(user, {}).values(), key=lambda o: self._path_order(o, seg)):
                if o.status != "open" or o.oid not in open_orders.get(user, {}):
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
                elif o.hold_bar != seg.bar and traded_through(1.0 if o.is_buy else -1.0, o.px, hi, lo):
                    self._fill_resting(o)  # the simulator's rule: a trade through, not a touch

    def _path_order(self, o: Order, seg: Segment) -> tuple[bool, float, int]:
        level = o.trigger_px if o.trigger_px is not None else o.px
        return (o.tpsl != "sl", abs(level - seg.start * self.universe.by_name[o.coin].scale), o.oid)

    # --- cancels and modifies ---------------------------------------------------------------------------------
    def cancel(self, user: str, c: CancelRequest) -> OrderOutcome:
        o = self.ledger.open_order(user, c.oid if c.cloid is None else c.cloid)
        market = self.universe.by_asset.get(c.asset)
        if o is None or market is None or o.coin != market.name:
            return Rejected(ERR_CANCEL)
        self.close(o, "canceled")
        return SUCCESS

    def modify(self, user: str, m: ModifyRequest) -> OrderOutcome:
        o = self.ledger.open_order(user, m.oid)
        if o is None:
            return Rejected(ERR_MODIFY)
        cloids = self.ledger.cloids
        saved_cloid = o.cloid
        if saved_cloid is not None:
            cloids.pop((user, saved_cloid), None)
        new, err = self._order_from(user, m.order, position_tpsl=o.position_tpsl)
        if err is not None or new is None:
            if saved_cloid is not None:
                cloids[(user, saved_cloid)] = o.oid
            return Rejected(err or ERR_ASSET)
        self.close(o, "canceled")
        return self._submit(new)
