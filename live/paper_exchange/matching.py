"""Orders, triggers and fills: the exchange's state machine, driven by domain actions and by price steps.

It speaks domain objects only (`orders.py`): requests in, outcomes, fills and events out; `wire.py` (in) and
`shapes.py` (out) do JSON.

Price semantics shared with the backtest simulator (`backtest/sim/kernel.py`), whose rule functions it calls rather
than restating them: marketable orders walk a synthetic book at the touch; a trigger becomes a market order when the
replayed path crosses its trigger price (it fills around the trigger) or at the bar's open when the bar gaps through
it (`gap_exit`); when the rest of a bar touches both a position's TP and SL, the stop fills and the TP is held back
for that bar (`intrabar_exit` with stop first). Resting limit orders fill at their limit price (maker) when the path
trades through it.
"""

from __future__ import annotations

import copy
import math
import random
from collections import deque
from dataclasses import asdict, fields
from typing import Any

from backtest.sim.kernel import R_STOP_LOSS, gap_exit, intrabar_exit
from live.paper_exchange import accounts as acc
from live.paper_exchange.config import PaperExchangeConfig
from live.paper_exchange.markets import Market, Universe, fmt_num, price_valid, round_px, size_valid
from live.paper_exchange.orders import (
    ERR_ASSET,
    ERR_CANCEL,
    ERR_DUP_CLOID,
    ERR_IOC,
    ERR_LEVERAGE,
    ERR_LEVERAGE_MARGIN,
    ERR_LEVERAGE_TYPE,
    ERR_MARGIN,
    ERR_MIN,
    ERR_MODIFY,
    ERR_ORACLE,
    ERR_PARENT,
    ERR_REDUCE,
    ERR_REJECT,
    ERR_SIZE,
    ERR_TICK,
    ERR_TPSL,
    SUCCESS,
    WAITING,
    Agent,
    ApproveAgent,
    BatchModify,
    Cancel,
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
    UpdateLeverage,
)
from live.paper_exchange.prices import PriceFeed, Segment, book_levels

Levels = tuple[tuple[float, float], ...]  # (price, size), best first
Book = tuple[Levels, Levels]  # (bids descending, asks ascending)
TRIGGER_SLIPPAGE = 0.10  # a triggered market order walks the book at most 10 % from its reference price
ORACLE_BAND = (0.2, 1.8)  # limit and trigger prices must lie within 80 % of the mark ("too far from oracle")
MAX_NAMED_AGENTS = 3  # per master, plus one unnamed
EPS = 1e-9
_ORDER_FIELDS = [f.name for f in fields(Order) if f.name not in ("children", "parent", "hold_bar")]


class Engine:
    """All order and account state; every method runs on the server's event loop thread."""

    def __init__(self, cfg: PaperExchangeConfig, universe: Universe, feed: PriceFeed, rng: random.Random) -> None:
        self.cfg = cfg
        self.universe = universe
        self.feed = feed
        self.reject_rng = rng
        self.accounts: dict[str, acc.Account] = {}
        self.agents: dict[str, Agent] = {}  # agent address -> agent
        self.orders: dict[int, Order] = {}
        self.open_orders: dict[str, dict[int, Order]] = {}  # user -> oid -> open/waiting order
        self.cloids: dict[tuple[str, str], int] = {}
        self.fills: dict[str, list[Fill]] = {}
        self.closed: deque[int] = deque()  # closed oids, oldest first (pruned beyond cfg.max_order_history)
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

    # --- accounts and agents ----------------------------------------------------------------------------------
    def fund(self, address: str, usd: float) -> acc.Account:
        if not math.isfinite(usd) or usd < 0:
            raise ValueError(f"funding must be a finite amount >= 0, got {usd!r}")
        address = address.lower()
        a = self.accounts.get(address)
        if a is None:
            a = self.accounts[address] = acc.Account(address, 0.0)
        a.balance += usd
        return a

    def account_for(self, signer: str) -> str | None:
        """The account an L1 action signed by `signer` acts for: itself, or an approved agent's master."""
        if signer in self.accounts:
            return signer
        agent = self.agents.get(signer)
        return agent.master if agent is not None and agent.master in self.accounts else None

    def approve_agent(self, master: str, a: ApproveAgent) -> str | None:
        """Approve `a.agent` to sign L1 actions for `master`; a name already in use is replaced (as on HyperLiquid)."""
        if a.chain != "Testnet":
            return (
                f"approveAgent signed for hyperliquidChain {a.chain!r}; this exchange is 'Testnet' (the SDK signs "
                "'Testnet' for every URL but mainnet's)."
            )
        if a.agent == master or a.agent in self.accounts:
            return f"Agent address {a.agent} is a user account; generate a fresh key for the API wallet."
        held = self.agents.get(a.agent)
        if held is not None and held.master != master:
            return f"Agent {a.agent} is already approved for another account."
        mine = {ag.name: ag for ag in self.agents.values() if ag.master == master and ag.address != a.agent}
        if a.name and a.name not in mine and sum(1 for n in mine if n) >= MAX_NAMED_AGENTS:
            return f"Too many named agents (at most {MAX_NAMED_AGENTS} and one unnamed); reuse a name to replace one."
        replaced = mine.get(a.name)
        if replaced is not None:
            del self.agents[replaced.address]
        self.agents[a.agent] = Agent(a.agent, master, a.name)
        return None

    def _valuation(self, a: acc.Account) -> acc.Valuation:
        return acc.value(a, self.universe.by_name, self.marks())

    # --- dispatch ---------------------------------------------------------------------------------------------
    def act(self, user: str, action: Any) -> Any:
        """Apply one validated domain action for `user`: a list of outcomes, or an error text / None."""
        if isinstance(action, PlaceOrders):
            return self.place(user, action)
        if isinstance(action, Cancel):
            return [self.cancel(user, c) for c in action.cancels]
        if isinstance(action, BatchModify):
            return [self.modify(user, m) for m in action.modifies]
        if isinstance(action, UpdateLeverage):
            return self.update_leverage(user, action)
        if isinstance(action, ApproveAgent):
            return self.approve_agent(user, action)
        raise TypeError(f"not an action: {action!r}")

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
        """An Order from a shape-checked request, or the real API's per-order error text."""
        market = self.universe.by_asset.get(req.asset)
        if market is None:
            return None, ERR_ASSET
        if not price_valid(req.px, market):
            return None, ERR_TICK
        if not size_valid(req.sz, market) and not (position_tpsl and req.sz == 0):
            return None, ERR_SIZE
        if req.cloid is not None and (user, req.cloid) in self.cloids:
            return None, ERR_DUP_CLOID
        mark = self.mark(market.name)
        px, sz = float(req.px), float(req.sz)
        if not ORACLE_BAND[0] * mark <= px <= ORACLE_BAND[1] * mark:
            return None, ERR_ORACLE
        order = Order(0, user, market.name, req.is_buy, px, sz, sz, req.reduce_only, self.feed.now_ms, cloid=req.cloid)
        if req.trigger_px is not None:
            if not price_valid(req.trigger_px, market):
                return None, ERR_TPSL
            trig = float(req.trigger_px)
            if not ORACLE_BAND[0] * mark <= trig <= ORACLE_BAND[1] * mark:
                return None, ERR_ORACLE
            order.trigger_px = trig
            order.is_market = req.is_market
            order.tpsl = req.tpsl
            order.position_tpsl = position_tpsl
        else:
            order.tif = req.tif
        if not req.reduce_only and sz * mark < self.cfg.min_order_value:
            return None, ERR_MIN
        return order, None

    def _new_oid(self, order: Order) -> None:
        order.oid = self.next_oid
        self.next_oid += 1
        self.orders[order.oid] = order
        if order.cloid is not None:
            self.cloids[(order.user, order.cloid)] = order.oid

    def _position(self, user: str, coin: str) -> float:
        a = self.accounts.get(user)
        p = a.positions.get(coin) if a else None
        return p.szi if p else 0.0

    def _fill_price_estimate(self, order: Order, market: Market, ref: float | None = None) -> float:
        """A conservative price for the margin check: the worst book level the order reaches now (`ref` = the mid a
        fired trigger trades around), the limit of an order that will rest, or the trigger of an untriggered one."""
        mark = self.mark(market.name) if ref is None else ref
        if order.is_trigger and ref is None:
            return max(mark, order.trigger_px or 0.0)
        if order.is_trigger and order.is_market:
            limit = mark * (1 + TRIGGER_SLIPPAGE) if order.is_buy else mark * (1 - TRIGGER_SLIPPAGE)
        else:
            limit = order.px
        bids, asks = self.book(market, ref)
        worst, left = None, order.sz
        for px, avail in asks if order.is_buy else bids:
            if px > limit if order.is_buy else px < limit:
                break
            worst, left = px, left - avail
            if left <= 0:
                break
        return max(mark, order.px if worst is None else worst)

    def _margin_error(self, order: Order, market: Market, px: float) -> str | None:
        """Insufficient margin when the exposure the order adds needs more than the free margin (and, isolated, the
        cash balance it is moved out of), fee included."""
        a = self.accounts[order.user]
        pos = self._position(order.user, order.coin)
        signed = order.sz if order.is_buy else -order.sz
        increase = max(0.0, abs(pos + signed) - abs(pos))
        if increase <= 0:
            return None
        lev, cross = a.leverage_for(market, self.cfg.default_leverage)
        notional = increase * px
        need = notional / lev + notional * self.fee_rate(market, False)
        val = self._valuation(a)
        if need > val.account_value - val.margin_used + EPS or (not cross and need > a.balance + EPS):
            return ERR_MARGIN
        return None

    def _submit(self, order: Order) -> OrderOutcome:
        market = self.universe.by_name[order.coin]
        pos = self._position(order.user, order.coin)
        if order.reduce_only and not order.position_tpsl and (pos == 0 or (pos > 0) == order.is_buy):
            return Rejected(ERR_REDUCE)
        if not order.reduce_only:
            err = self._margin_error(order, market, self._fill_price_estimate(order, market))
            if err:
                return Rejected(err)
        self._new_oid(order)
        if order.is_trigger:
            return self._rest_trigger(order)
        bids, asks = self.book(market)
        crosses = (asks[0][0] <= order.px) if order.is_buy else (bids[0][0] >= order.px)
        if order.tif == "Alo" and crosses:
            self._close(order, "rejected")
            return Rejected(
                f"Post only order would have immediately matched, bbo was {fmt_num(bids[0][0])}@"
                f"{fmt_num(asks[0][0])}. asset={market.asset}"
            )
        if order.reduce_only:
            order.sz = min(order.sz, abs(pos))
        filled, avg = self._take(order, market, bids, asks, order.px) if crosses else (0.0, 0.0)
        if order.tif == "Ioc" or order.sz <= 1e-12:
            if filled <= 0:
                self._close(order, "canceled")
                return Rejected(ERR_IOC)
            self._close(order, "filled")
            return Filled(order.oid, order.cloid, order.coin, filled, avg)
        self._rest(order)
        return Resting(order.oid, order.cloid)

    def _rest(self, order: Order) -> None:
        order.status = "open"
        order.status_ts = self.feed.now_ms
        self.open_orders.setdefault(order.user, {})[order.oid] = order
        self._order_event(order)
        if order.is_trigger and order.reduce_only:
            self._refresh_hold(order.user, order.coin)

    def _rest_trigger(self, order: Order) -> OrderOutcome:
        self._rest(order)
        mark = self.mark(order.coin)
        assert order.trigger_px is not None
        if (mark >= order.trigger_px) if order.fires_above() else (mark <= order.trigger_px):
            self._fire(order, mark)
        return Resting(order.oid, order.cloid)

    def _attach_child(self, parent: Order, child: Order, parent_filled: bool) -> OrderOutcome:
        self._new_oid(child)
        child.parent = parent.oid
        parent.children.append(child.oid)
        if parent_filled:
            child.parent = None
            return self._rest_trigger(child)
        child.status = "waiting"
        child.status_ts = self.feed.now_ms
        self.open_orders.setdefault(child.user, {})[child.oid] = child
        return WAITING

    def _close(self, order: Order, status: str) -> None:
        order.status = status
        order.status_ts = self.feed.now_ms
        book = self.open_orders.get(order.user)
        if book is not None:
            book.pop(order.oid, None)
        self._order_event(order)
        if status in ("reduceOnlyCanceled", "marginCanceled"):
            self.events.append(("nonUserCancel", order.user, (order.coin, order.oid)))
        if status != "filled":
            for cid in order.children:
                ch = self.orders.get(cid)
                if ch is not None and ch.status == "waiting":
                    self._close(ch, "canceled")
        if order.is_trigger and order.reduce_only:
            self._refresh_hold(order.user, order.coin)
        self.closed.append(order.oid)
        if len(self.closed) > self.cfg.max_order_history:
            self._forget(self.closed.popleft())

    def _forget(self, oid: int) -> None:
        o = self.orders.get(oid)
        if o is None or o.status in ("open", "waiting"):
            return
        del self.orders[oid]
        if o.cloid is not None and self.cloids.get((o.user, o.cloid)) == oid:
            del self.cloids[(o.user, o.cloid)]

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
            self._fill(order, market, px, q, maker=False)
            filled += q
            notional += q * px
            order.sz = round(order.sz - q, market.sz_decimals)
        return filled, (notional / filled if filled else 0.0)

    def _fill(self, order: Order, market: Market, px: float, sz: float, maker: bool, liquidation: bool = False) -> None:
        a = self.accounts[order.user]
        fee = sz * px * self.fee_rate(market, maker)
        eff = acc.apply_fill(a, market, order.is_buy, sz, px, fee, self.cfg.default_leverage)
        tid = self.next_tid
        self.next_tid += 1
        f = Fill(
            order.user, order.coin, px, sz, order.is_buy, self.feed.now_ms, eff.start_position, eff.direction,
            eff.closed_pnl, order.oid, not maker, fee, tid, order.cloid, liquidation,
        )  # fmt: skip
        lst = self.fills.setdefault(order.user, [])
        lst.append(f)
        if len(lst) > self.cfg.max_fills_per_user:
            del lst[: len(lst) - self.cfg.max_fills_per_user]
        self.events.append(("fill", order.user, f))
        if eff.flat:
            self._on_flat(order.user, order.coin, exclude=order.oid)
        else:
            self._refresh_hold(order.user, order.coin)
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
        elif self._margin_error(order, market, self._fill_price_estimate(order, market, ref)):
            self._close(order, "marginCanceled")
            return
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

    # --- the simulator's exit rules -------------------------------------------------------------------------
    def _refresh_hold(self, user: str, coin: str) -> None:
        """Hold a position's TPs back for the rest of this bar when that rest touches both its TP and its SL.

        The decision is the simulator's own (`intrabar_exit` with the stop first) over the range the rest of the
        bar covers, so it holds for a position opened at the open as for one carried in; a bar that gaps through a
        level (`gap_exit`) fires that level at the open instead, and holds nothing.
        """
        pos = self._position(user, coin)
        book = self.open_orders.get(user, {})
        levels = [o for o in book.values() if o.coin == coin and o.is_trigger and o.reduce_only and o.status == "open"]
        if not levels:
            return
        side = 1.0 if pos > 0 else -1.0
        closing = [o for o in levels if pos != 0 and o.is_buy == (side < 0)]
        sls = [o.trigger_px for o in closing if o.tpsl == "sl" and o.trigger_px is not None]
        tps = [o.trigger_px for o in closing if o.tpsl == "tp" and o.trigger_px is not None]
        hold = False
        if sls and tps:
            sl = max(sls) if side > 0 else min(sls)
            tp = min(tps) if side > 0 else max(tps)
            scale = self.universe.by_name[coin].scale
            lo, hi = self.feed.remaining_range()
            o = self.feed.price * scale
            at_open = self.feed.point == 0 and gap_exit(side, o, sl, tp) != -1
            hold = not at_open and intrabar_exit(side, hi * scale, lo * scale, sl, tp, True) == R_STOP_LOSS
        for o in levels:
            if o.tpsl == "tp":
                o.hold_bar = self.feed.bar if hold else -1

    # --- price steps ------------------------------------------------------------------------------------------
    def on_segment(self, seg: Segment) -> None:
        """Apply one replay step: funding on the hour, TP/SL hold-back, triggers, resting limits, liquidations."""
        if seg.gap:
            self._funding_if_new_hour(seg.bar)
            for user, book in list(self.open_orders.items()):
                for coin in {o.coin for o in book.values() if o.is_trigger and o.reduce_only}:
                    self._refresh_hold(user, coin)
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
        elif self._margin_error(o, market, max(o.px, self.mark(o.coin))):
            self._close(o, "marginCanceled")
            return
        sz = o.sz
        o.sz = 0.0
        self._fill(o, market, o.px, sz, maker=True)
        self._close(o, "filled")

    def _funding_if_new_hour(self, bar: int) -> None:
        t = self.feed.t_ms
        if bar == 0 or t[bar] // 3_600_000 == t[bar - 1] // 3_600_000 or self.cfg.funding_rate_hourly == 0:
            return
        marks = self.marks()
        for a in self.accounts.values():
            for coin, p in a.positions.items():
                pay = acc.apply_funding(a, p, marks[coin], self.cfg.funding_rate_hourly)
                self.events.append(("funding", a.address, (coin, pay, p.szi, self.cfg.funding_rate_hourly)))

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
                floor = a.balance if not p.is_cross else None  # an isolated loss never exceeds its margin
                o = Order(0, a.address, coin, p.szi < 0, 0.0, abs(p.szi), abs(p.szi), True, self.feed.now_ms)
                o.tif = "Ioc"
                self._new_oid(o)
                bids, asks = self.book(market)
                levels = asks if o.is_buy else bids
                for px, avail in levels:  # the whole position goes, at the book (deeper levels if needed)
                    if o.sz <= 1e-12:
                        break
                    q = round(min(o.sz, avail), market.sz_decimals)
                    self._fill(o, market, px, q, maker=False, liquidation=True)
                    o.sz = round(o.sz - q, market.sz_decimals)
                self._close(o, "filled")
                if floor is not None and a.balance < floor:
                    a.backstop += floor - a.balance
                    a.balance = floor
                self.events.append(("liquidation", a.address, coin))
            if a.balance < 0 and not any(p.is_cross for p in a.positions.values()):
                a.backstop -= a.balance  # bankrupt cross account: the backstop absorbs what the collateral cannot
                a.balance = 0.0

    # --- cancels, modifies, leverage --------------------------------------------------------------------------
    def cancel(self, user: str, c: CancelRequest) -> OrderOutcome:
        oid = c.oid if c.cloid is None else self.cloids.get((user, c.cloid))
        o = self.open_orders.get(user, {}).get(oid) if oid is not None else None
        market = self.universe.by_asset.get(c.asset)
        if o is None or market is None or o.coin != market.name:
            return Rejected(ERR_CANCEL)
        self._close(o, "canceled")
        return SUCCESS

    def modify(self, user: str, m: ModifyRequest) -> OrderOutcome:
        oid = self.cloids.get((user, m.oid)) if isinstance(m.oid, str) else m.oid
        o = self.open_orders.get(user, {}).get(oid) if oid is not None else None
        if o is None:
            return Rejected(ERR_MODIFY)
        saved_cloid = o.cloid
        if saved_cloid is not None:
            self.cloids.pop((user, saved_cloid), None)
        new, err = self._order_from(user, m.order, position_tpsl=o.position_tpsl)
        if err is not None or new is None:
            if saved_cloid is not None:
                self.cloids[(user, saved_cloid)] = o.oid
            return Rejected(err or ERR_ASSET)
        self._close(o, "canceled")
        return self._submit(new)

    def update_leverage(self, user: str, u: UpdateLeverage) -> str | None:
        """Set leverage (and cross/isolated) for a coin; refused when the account could not carry it.

        Lowering leverage on an open position locks more margin: isolated, the extra margin moves out of the cash
        balance and must fit both it and the free margin; cross, the margin used must stay within account value.
        Raising leverage on an isolated position leaves its margin in place (nothing is released).
        """
        market = self.universe.by_asset.get(u.asset)
        if market is None:
            return ERR_ASSET
        if not 1 <= u.leverage <= market.max_leverage:
            return ERR_LEVERAGE
        a = self.accounts[user]
        pos = a.positions.get(market.name)
        if pos is not None and pos.is_cross != u.is_cross:
            return ERR_LEVERAGE_TYPE
        if pos is not None:
            if pos.is_cross:
                old = pos.leverage
                pos.leverage = u.leverage
                val = self._valuation(a)
                if u.leverage < old and val.margin_used > val.account_value + EPS:
                    pos.leverage = old
                    return ERR_LEVERAGE_MARGIN
            else:
                need = abs(pos.szi) * pos.entry_px / u.leverage
                extra = need - pos.margin
                if extra > 0:
                    val = self._valuation(a)
                    if extra > val.account_value - val.margin_used + EPS or extra > a.balance + EPS:
                        return ERR_LEVERAGE_MARGIN
                    a.balance -= extra
                    pos.margin = need
                pos.leverage = u.leverage
        a.leverage[market.name] = [u.leverage, u.is_cross]
        return None

    def _order_event(self, o: Order) -> None:
        self.events.append(("order", o.user, copy.copy(o)))

    # --- persistence ------------------------------------------------------------------------------------------
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
