"""The order desk: what a decision does on the venue, in the simulator's order of events; it owns the legs.

`OrderDesk.act` takes one decided action: legs past max hold and a closing signal's legs close first, as one
reduce-only IOC; then `action_orders` (the simulator's action interpreter) may open a leg, sized by the simulator's
rule (`size_fraction`) times the size multiplier and capped by the risk limits, sent as an IOC with a deterministic
cloid; each filled entry gets reduce-only TP/SL triggers at the simulator's `exit_levels`. It also closes legs and
whatever else the venue holds on the coin (flattening), cancels by cloid, and keeps the trade statistics the sizing
rule reads. Every order goes through `live.execution.Execution` (journalled before it is sent).

With a maker style (`execution.entry` / `exit` = maker) an entry or a signal / max-hold exit is a post-only (`Alo`)
limit at the venue's touch instead: at most one rests (`TraderState.resting`), and at each open it meets the
simulator's `resting_order_rule` (an opposite decision or a block on opens cancels it, one of its own direction is
absorbed, its ttl ends in a cancel or an IOC of the same size). Its fills (read by `VenueSync.check_resting`, or after
a cancel that found it gone) become legs, whose TP/SL go on at the open after the fill bar; its end is journalled
once as an `outcome` (filled / rejected / expired / converted / cancelled / error).

Inputs, all explicit: the execution, the asset's rules, the shared `TraderState`, the `RiskGuard`, the journal, the
IOC slippage, where the current mid price comes from (the feed) and the clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from backtest.domain import AccountState, Bar
from backtest.sim import ACTION_NAMES, BUY, HOLD, SELL, action_orders, size_fraction
from backtest.sim import layout as L
from backtest.venue.rules import AssetRules, price_steps
from backtest.venue.wire import OrderAck, cloid_for
from live.execution import ExchangeUnavailable, Execution, OrderIntent
from live.journal import Journal
from live.positions import Leg, net_size, side_of
from live.resting import OUTCOME_NAMES, OrderFills, RestingOrder
from live.risk import RiskGuard
from live.state import TraderState


class OrderDesk:
    """Decisions into orders, legs and their triggers (see the module docstring)."""

    def __init__(
        self,
        execution: Execution,
        rules: AssetRules,
        state: TraderState,
        risk: RiskGuard,
        journal: Journal,
        ioc_slippage_frac: float,
        mid: Callable[[], float | None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.exec, self.rules, self.state, self.risk, self.journal = execution, rules, state, risk, journal
        self.ioc_slippage_frac = ioc_slippage_frac
        self.mid = mid
        self.clock = clock
        self.lot = 10.0**-rules.sz_decimals

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _save(self) -> None:
        self.journal.write_state(self.state.saved(self._now_ms()))

    # --- a decision -----------------------------------------------------------------------------------------------
    def act(self, action: int, bar: Bar, t: int, equity: float, blocked: str | None) -> None:
        """The simulator's order of events at the next open (bar i = t + 1): the TP/SL of maker entries whose fill
        bar has passed; the resting post-only order against the action and its ttl; max-hold exits; then the action
        on what is left (a market style: IOCs; a maker style: a post-only order, unless one still rests).

        Orders go out in that order and as early as possible (closes, then the open); trigger cancels and new
        TP/SL triggers follow, since they do not change the position."""
        st, i = self.state, t + 1
        p = st.policy.sim
        if st.resting is not None and self._resting_at_open(action, bar, i, blocked):
            action = HOLD  # absorbed by the resting order: nothing new is sent, its ttl is not renewed
        legs, hold = st.legs, p.hold_bars
        due = [lg for lg in legs if hold > 0 and i - lg.entry_bar >= hold]
        if due and p.exit_maker:  # a post-only max-hold exit (it replaces a resting entry), not an IOC
            self._post_max_hold_exit(due, bar, i, equity)
            due = []
        rest = [lg for lg in legs if lg not in due]
        close_side, open_side = (0.0, 0.0)
        if action != HOLD:
            close_side, open_side = action_orders(
                action, float(side_of(rest)), len(rest), blocked is not None, self.risk.limits.max_positions
            )
        signal = [lg for lg in rest if close_side != 0 and lg.side == close_side]
        if signal and p.exit_maker:
            if st.resting is None:
                self._post_exit(signal, "signal", bar, i, equity)
            signal = []
        closed_ok = True
        if due or signal:
            closed_ok = self.close_legs(due + signal, "signal" if signal else "max_hold", bar, cancel=False,
                                        reasons={lg.leg_id: "max_hold" for lg in due})  # fmt: skip
        if open_side != 0:
            if not closed_ok:
                self.journal.write("skip", bar=bar.time_ms, action=ACTION_NAMES[action], why="the close did not fill")
            elif not p.entry_maker:
                self._open_leg(int(open_side), bar, t, equity)
            elif st.resting is None:  # while an order rests, nothing else is sent
                self._post_entry(int(open_side), bar, i, equity)
        elif blocked and action != HOLD and close_side == 0 and not rest:
            self.journal.write("skip", bar=bar.time_ms, action=ACTION_NAMES[action], why=blocked)
        if closed_ok:  # a close that did not fill keeps its triggers; reconciliation sorts the position out
            for lg in due + signal:
                self.cancel_triggers(lg, "leg closed")

    def _open_leg(self, side: int, bar: Bar, t: int, equity: float) -> None:
        st = self.state
        p = st.policy.sim
        frac = size_fraction(st.stats.n_trades, st.stats.n_wins, st.stats.sum_win, st.stats.sum_loss, p)
        notional = equity * frac * st.size_multiplier * p.leverage
        size = notional / bar.close if bar.close > 0 else 0.0
        pos_notional = abs(net_size(st.legs)) * bar.close
        size, cut = self.risk.cap_open_size(size, bar.close, equity, pos_notional, len(st.legs))
        size = self.rules.round_size(size)
        if cut:
            self.journal.write("risk", event="size_capped", why=cut, size=size)
        if size <= 0 or not self.rules.meets_minimum(size, bar.close):
            self.journal.write("skip", bar=bar.time_ms, why="size below the venue minimum", size=size)
            return
        self._market_entry(side, size, cloid_for(st.policy.policy_id, bar.time_ms, "entry"), bar, t + 1, equity)

    def _market_entry(
        self, side: int, size: float, cloid: str, bar: Bar, i: int, eq_entry: float, atr: float | None = None
    ) -> None:
        """An IOC entry at the open of bar `i` (decided at `bar`'s close); a fill becomes a leg with its TP/SL."""
        st = self.state
        is_buy = side > 0
        intent = OrderIntent(
            cloid=cloid,
            is_buy=is_buy,
            size=size,
            limit_px=self.exec.ioc_price(is_buy, bar.close, self.ioc_slippage_frac),
            reason="open",
            leg=cloid,
            decision_px=bar.close,
            bar_ms=bar.time_ms,
        )
        ack = self._submit(intent)
        if ack.kind != "filled" or not ack.filled_size or not ack.avg_px:
            return
        tp, sl = st.policy.exit_levels(side, ack.avg_px, atr)
        leg = Leg(cloid, side, ack.filled_size, ack.avg_px, i, eq_entry, tp, sl)
        st.legs.append(leg)
        self._save()  # before the triggers: a crash now leaves a leg whose triggers reconciliation places
        self.place_triggers(leg, ("tp", "sl"))
        st.fills_due = True

    # --- post-only (maker) orders ---------------------------------------------------------------------------------
    def arm_triggers(self, i: int) -> bool:
        """TP/SL of maker entries whose (last) fill bar has passed and whose order has left the book: they go on at
        the open of bar `i`, never inside the fill bar (the simulator's levels go live from the bar after the fill).
        True when some went on (a level the open already passed fires at once: the simulator's gap rule)."""
        st = self.state
        armed = False
        for lg in st.legs:
            resting_here = st.resting is not None and st.resting.cloid == lg.leg_id
            if not lg.protected and i >= lg.exits_from and not resting_here:
                lg.protected = armed = True
                self._save()
                self.place_triggers(lg, ("tp", "sl"))
        return armed

    def _resting_at_open(self, action: int, bar: Bar, i: int, blocked: str | None) -> bool:
        """The resting order at the open of bar `i` by the simulator's `resting_order_rule`; True when the action is
        absorbed. An exit whose positions are gone is cancelled first. A cancel that fails leaves it resting (tried
        again at the next open)."""
        st, p = self.state, self.state.policy.sim
        r = st.resting
        assert r is not None
        if r.purpose == "exit" and not [lg for lg in st.legs if lg.side == -r.side]:
            self.end_resting("cancelled", "its position is gone", i)
            return False
        want = 1 if action == BUY else (-1 if action == SELL else 0)
        to_market = p.entry_expiry_market if r.purpose == "entry" else p.exit_expiry_market
        outcome, absorbed = r.at_open(want, i, blocked is not None, to_market)
        if outcome == L.OC_CANCELLED:
            why = "opposite decision" if want == -r.side else f"opens blocked: {blocked}"
            self.end_resting("cancelled", why, i)
        elif outcome in (L.OC_EXPIRED, L.OC_CONVERTED):
            name = OUTCOME_NAMES[outcome]
            left = self.end_resting(name, f"ttl: {name} at its expiry open", i)
            if outcome == L.OC_CONVERTED and left is not None and left.filled < left.size - self.lot / 2:
                self._to_market(left, bar, i)
        return absorbed

    def _to_market(self, r: RestingOrder, bar: Bar, i: int) -> None:
        """An order that expired unfilled with `on_expiry: market`: an IOC of the same size at this open."""
        st = self.state
        if r.purpose == "exit":
            self.close_legs([lg for lg in st.legs if lg.side == -r.side], r.reason, bar)
            return
        size = self.rules.round_size(r.size - r.filled)
        if size > 0:
            self._market_entry(r.side, size, cloid_for(r.cloid, "market"), bar, i, r.eq_decision, r.atr)

    def _post_max_hold_exit(self, due: list[Leg], bar: Bar, i: int, equity: float) -> None:
        """Max hold is due with maker exits: a reduce-only post-only exit (reason max_hold) for the positions of that
        side; it replaces a resting entry; a resting exit stays (nothing else is sent while it rests)."""
        st = self.state
        if st.resting is not None and st.resting.purpose == "entry":
            self.end_resting("cancelled", "a max-hold exit replaces it", i)
        if st.resting is None:
            self._post_exit([lg for lg in st.legs if lg.side == due[0].side], "max_hold", bar, i, equity)

    def maker_limit(self, side: int, bid: float, ask: float, offset_ticks: float) -> float:
        """A post-only price: the touch of its own side (a buy at the best bid, a sell at the best ask) moved
        `offset_ticks` of the venue's ticks towards the other side, on the tick (`AssetRules.round_price`)."""
        touch = bid if side > 0 else ask
        tick = float(price_steps(np.array([touch]), self.rules.sz_decimals)[0])
        return self.rules.round_price(max(touch + side * offset_ticks * tick, tick))

    def _touch(self, bar: Bar, what: str) -> tuple[float, float] | None:
        try:
            return self.exec.best_bid_ask()
        except ExchangeUnavailable as exc:
            self.journal.write("skip", bar=bar.time_ms, why=f"no book for the {what}: {exc}")
            return None

    def _post_entry(self, side: int, bar: Bar, i: int, equity: float) -> None:
        """A post-only entry at the touch, sized at the decision (equity x size x leverage / its limit price)."""
        st, p = self.state, self.state.policy.sim
        touch = self._touch(bar, "entry")
        if touch is None:
            return
        px = self.maker_limit(side, *touch, p.entry_offset)
        frac = size_fraction(st.stats.n_trades, st.stats.n_wins, st.stats.sum_win, st.stats.sum_loss, p)
        size = equity * frac * st.size_multiplier * p.leverage / px
        size, cut = self.risk.cap_open_size(size, px, equity, abs(net_size(st.legs)) * bar.close, len(st.legs))
        size = self.rules.round_size(size)
        if cut:
            self.journal.write("risk", event="size_capped", why=cut, size=size)
        if size <= 0 or not self.rules.meets_minimum(size, px):
            self.journal.write("skip", bar=bar.time_ms, why="size below the venue minimum", size=size)
            return
        atr = float(st.policy.stream.features.atr) if p.atr_on else 0.0
        cloid = cloid_for(st.policy.policy_id, bar.time_ms, "entry")
        r = RestingOrder(cloid, "entry", side, size, px, i, i + p.entry_ttl, "signal", bar.time_ms, equity,
                         atr if np.isfinite(atr) else 0.0, [])  # fmt: skip
        self._post(r, reduce_only=False, reason="open", bar=bar)

    def _post_exit(self, legs: list[Leg], reason: str, bar: Bar, i: int, equity: float) -> None:
        """A reduce-only post-only exit at the touch for |position| of the legs' side (reason signal or max_hold)."""
        st, p = self.state, self.state.policy.sim
        touch = self._touch(bar, "exit")
        if touch is None:
            return
        side = -legs[0].side
        px = self.maker_limit(side, *touch, p.exit_offset)
        size = self.rules.round_size(sum(lg.size for lg in legs))
        cloid = cloid_for(st.policy.policy_id, bar.time_ms, "exit", *sorted(lg.leg_id for lg in legs))
        r = RestingOrder(cloid, "exit", side, size, px, i, i + p.exit_ttl, reason, bar.time_ms, equity, 0.0,
                         [lg.leg_id for lg in legs])  # fmt: skip
        self._post(r, reduce_only=True, reason=reason, bar=bar)

    def _post(self, r: RestingOrder, reduce_only: bool, reason: str, bar: Bar) -> None:
        """Send `r` as an `Alo`: known in the saved state before it is sent (a crash then finds it by cloid); the
        venue's post-only rejection is an outcome (journalled once, never retried); any other refusal is looked up
        by cloid before the order is given up."""
        st = self.state
        st.resting = r
        self._save()
        intent = OrderIntent(cloid=r.cloid, is_buy=r.side > 0, size=r.size, limit_px=r.limit_px,
                             reduce_only=reduce_only, leg=r.cloid if r.purpose == "entry" else ",".join(r.legs),
                             reason=reason, decision_px=bar.close, bar_ms=bar.time_ms, tif="Alo")  # fmt: skip
        ack = self._submit(intent)
        if ack.kind == "rejected":
            self._ended(r, "rejected", "post-only: it would have crossed the book", r.placed_bar)
            return
        if ack.kind in ("resting", "filled"):
            r.oid, r.acked = ack.oid, True
            self._save()
            if ack.kind == "resting":
                return
        self.check_resting(r.placed_bar, why=ack.error or "")  # filled at once, or refused / unanswered: look it up

    def check_resting(self, i: int, why: str = "") -> None:
        """What the venue says about the resting order now (status by cloid, fills by oid/cloid and trade id)."""
        r = self.state.resting
        if r is None:
            return
        try:
            of = self.exec.order_fills(r.cloid, since_ms=r.decision_ms)
        except ExchangeUnavailable as exc:
            self.journal.write("error", where="resting order", cloid=r.cloid, error=str(exc))
            return
        self.settle(of, i, why=why)

    def settle(self, of: OrderFills, i: int, ended_as: str | None = None, why: str = "") -> None:
        """Apply the venue's answer about the resting order at the open of bar `i`: new fills become (or close)
        legs; once it has left the book its outcome is journalled, once. `ended_as`: what the trader's own cancel
        made it (cancelled / expired / converted); a fill always stands over it (never both expired and filled)."""
        st = self.state
        r = st.resting
        if r is None:
            return
        if of.found and of.oid is not None:
            r.oid, r.acked = of.oid, True
        self._take_fills(r, of)
        if of.found and of.resting and ended_as is None:
            self._save()
            return
        if r.filled >= r.size - self.lot / 2 or of.status == "filled":
            outcome, why = "filled", ""
        elif ended_as is not None:
            outcome = ended_as
        elif not of.found:
            outcome, why = "error", why or "unknown to the venue (never placed)"
        else:
            outcome, why = ("rejected" if of.status == "rejected" else "cancelled"), f"the venue: {of.status}"
        end = i if r.last_fill_ms is None else self._bar_of(r.last_fill_ms)
        self._ended(r, outcome, why, end)

    def _take_fills(self, r: RestingOrder, of: OrderFills) -> None:
        """Fills not seen yet: an entry's become (grow) its leg, an exit's close the legs of its side once whole."""
        st = self.state
        if of.size <= r.filled + self.lot / 2 or of.avg_px is None or of.first_ms is None or of.last_ms is None:
            return
        r.filled, r.avg_px, r.first_fill_ms, r.last_fill_ms = of.size, of.avg_px, of.first_ms, of.last_ms
        st.fills_due = True
        st.mark_order(r.cloid, "filled" if of.status == "filled" else "resting", of.avg_px)
        if r.purpose == "exit":
            legs = [lg for lg in st.legs if lg.side == -r.side]
            if legs and r.filled >= sum(lg.size for lg in legs) - self.lot / 2:
                for lg in legs:
                    self.record_trade(lg, of.avg_px, r.reason, True, of.last_ms)
                st.legs = [lg for lg in st.legs if lg not in legs]
                for lg in legs:
                    self.cancel_triggers(lg, "leg closed by its post-only exit")
            else:  # a partial exit: the venue's position is the truth, reconciliation follows it
                st.need_reconcile = True
            self._save()
            return
        size = self.rules.round_size(r.filled)
        tp, sl = st.policy.exit_levels(r.side, of.avg_px, r.atr)
        leg = next((lg for lg in st.legs if lg.leg_id == r.cloid), None)
        if leg is None:
            leg = Leg(r.cloid, r.side, size, of.avg_px, self._bar_of(of.first_ms), r.eq_decision, tp, sl,
                      maker=True, protected=False)  # fmt: skip
            st.legs.append(leg)
        leg.size, leg.entry_px, leg.tp_px, leg.sl_px = size, of.avg_px, tp, sl
        leg.exits_from = self._bar_of(of.last_ms) + 1
        self._save()

    def end_resting(self, outcome: str, why: str, i: int) -> RestingOrder | None:
        """Cancel the resting order and settle it (`outcome` unless it filled meanwhile: a cancel answered "already
        canceled, or filled" is looked up by cloid, and the fill stands). Returns the ended order, or None when the
        cancel failed (it still rests)."""
        r = self.state.resting
        if r is None:
            return None
        res = self.exec.cancel_order(r.cloid, reason=f"{outcome}: {why}")
        if res == "failed":
            return None
        self.state.mark_order(r.cloid, "canceled")
        try:
            of = self.exec.order_fills(r.cloid, since_ms=r.decision_ms)
        except ExchangeUnavailable as exc:
            self.journal.write("error", where="resting order", cloid=r.cloid, error=str(exc))
            of = OrderFills(True, "canceled", r.oid)  # its fills are read again by the next reconciliation
            self.state.need_reconcile = True
        self.settle(of, i, ended_as=outcome, why=why if res == "cancelled" else f"{why} (the cancel found it gone)")
        return r

    def _ended(self, r: RestingOrder, outcome: str, why: str, end_bar: int) -> None:
        st = self.state
        bar_ms = st.policy.sim.bar_ms
        self.journal.write("outcome", cloid=r.cloid, oid=r.oid, purpose=r.purpose, outcome=outcome, why=why,
                           side=r.side, size=r.size, limit_px=r.limit_px, reason=r.reason, filled=r.filled,
                           avg_px=r.avg_px, placed_bar_ms=int(r.placed_bar * bar_ms),
                           end_bar_ms=int(end_bar * bar_ms))  # fmt: skip
        st.counts[f"maker_{outcome}"] = st.counts.get(f"maker_{outcome}", 0) + 1
        st.resting = None
        self._save()

    def _bar_of(self, ms: int) -> int:
        return int(ms // self.state.policy.sim.bar_ms)

    # --- closing --------------------------------------------------------------------------------------------------
    def close_legs(
        self,
        legs: list[Leg],
        reason: str,
        bar: Bar | None,
        cancel: bool = True,
        reasons: dict[str, str] | None = None,
    ) -> bool:
        """One reduce-only IOC for `legs`; True when it filled. `cancel` also cancels their triggers now."""
        if not legs:
            return True
        st = self.state
        size = self.rules.round_size(sum(lg.size for lg in legs))
        is_buy = legs[0].side < 0
        ref = bar.close if bar is not None else (self.mid() or legs[0].entry_px)
        key = bar.time_ms if bar is not None else self._now_ms()
        intent = OrderIntent(
            cloid=cloid_for(st.policy.policy_id, key, "close", *sorted(lg.leg_id for lg in legs)),
            is_buy=is_buy,
            size=size,
            limit_px=self.exec.ioc_price(is_buy, ref, self.ioc_slippage_frac),
            reduce_only=True,
            reason=reason,
            leg=",".join(lg.leg_id for lg in legs),
            decision_px=ref,
            bar_ms=bar.time_ms if bar is not None else None,
        )
        ack = self._submit(intent)
        exit_ms = key + int(st.policy.sim.bar_ms) if bar is not None else key  # the open it fills at
        closed = ack.kind == "filled" and bool(ack.avg_px) and ack.filled_size >= size - self.lot / 2
        if closed:
            for lg in legs:
                self.record_trade(lg, float(ack.avg_px), (reasons or {}).get(lg.leg_id, reason), exit_ms=exit_ms)
            st.legs = [lg for lg in st.legs if lg not in legs]
            self._save()
        if cancel:
            for lg in legs:
                self.cancel_triggers(lg, f"{reason}: leg closed")
        st.need_reconcile = st.need_reconcile or not closed
        st.fills_due = True
        return closed

    def close_the_rest(self, acct: AccountState | None, reason: str) -> None:
        """After the legs closed (flattening): close what the venue still holds on the coin, cancel every order."""
        st = self.state
        pos = acct.positions.get(self.rules.name) if acct else None
        if pos is not None and abs(pos.size) > self.lot / 2:  # the venue still has something: close it all
            is_buy = pos.size < 0
            ref = self.mid() or (st.last_bar.close if st.last_bar else pos.entry_px)
            intent = OrderIntent(
                cloid=cloid_for(st.policy.policy_id, self._now_ms(), "flatten"),
                is_buy=is_buy,
                size=self.rules.round_size(abs(pos.size)),
                limit_px=self.exec.ioc_price(is_buy, ref, self.ioc_slippage_frac),
                reduce_only=True,
                reason=reason,
            )
            self._submit(intent)
            st.legs = []
        try:
            for o in self.exec.open_orders():
                if o.cloid:
                    self.cancel(o.cloid, reason)
        except ExchangeUnavailable as exc:
            self.journal.write("error", where="flatten", error=str(exc))

    def record_trade(
        self, leg: Leg, exit_px: float, reason: str, exit_maker: bool = False, exit_ms: int | None = None
    ) -> None:
        """A closed leg into the trade statistics the sizing rule reads: its return on the equity at entry, net of
        fees as the simulator counts them (the taker fee, or the maker fee on a post-only fill; the journal's fills
        have the venue's own). `exit_ms`: when it closed (venue time), journalled as the bar it closed in."""
        p = self.state.policy.sim
        gross = leg.side * leg.size * (exit_px - leg.entry_px)
        fee_in, fee_out = (p.maker_frac if m else p.taker_frac for m in (leg.maker, exit_maker))
        fees = leg.size * (leg.entry_px * fee_in + exit_px * fee_out)
        ret = (gross - fees) / leg.eq_entry if leg.eq_entry > 0 else 0.0
        stats = self.state.stats
        stats.record(ret)
        trade = {"leg": leg.leg_id, "side": leg.side, "size": leg.size, "entry_px": leg.entry_px,
                 "exit_px": exit_px, "gross_pnl": gross, "est_fees": fees, "return_pct": ret * 100,
                 "reason": reason, "entry_bar_ms": int(leg.entry_bar * p.bar_ms),
                 "exit_bar_ms": None if exit_ms is None else int(exit_ms // p.bar_ms * p.bar_ms),
                 "maker": [leg.maker, exit_maker]}  # fmt: skip
        stats.recent = [*stats.recent[-49:], trade]
        self.journal.write("trade", **trade)

    # --- triggers and cancels -------------------------------------------------------------------------------------
    def place_triggers(self, leg: Leg, kinds: tuple[str, ...]) -> None:
        """The leg's reduce-only exits on the venue: TP and SL triggers; with `execution.take_profit` = maker the TP
        is a resting limit at the level instead (tif Gtc, the leg's TP cloid: the simulator's maker take-profit,
        filled at the level when a bar trades through it; an open already past it fills it at once, as a taker)."""
        for kind in kinds:
            level = leg.tp_px if kind == "tp" else leg.sl_px
            is_buy = leg.side < 0
            if kind == "tp" and self.state.policy.sim.tp_limit:
                px = self.exec.take_profit_limit(is_buy, level)
                self._submit(OrderIntent(cloid=leg.trigger_cloid(kind), is_buy=is_buy, size=leg.size, limit_px=px,
                                         reduce_only=True, leg=leg.leg_id, reason=kind, tif="Gtc"))  # fmt: skip
                continue
            trig, limit = self.exec.trigger_prices(is_buy, level, kind)
            self._submit(
                OrderIntent(
                    cloid=leg.trigger_cloid(kind),
                    is_buy=is_buy,
                    size=leg.size,
                    limit_px=limit,
                    reduce_only=True,
                    trigger_px=trig,
                    tpsl=kind,
                    leg=leg.leg_id,
                    reason=kind,
                )
            )

    def cancel_triggers(self, leg: Leg, reason: str) -> None:
        for kind in ("tp", "sl"):
            self.cancel(leg.trigger_cloid(kind), reason)

    def cancel(self, cloid: str, reason: str) -> bool:
        """Cancel by cloid (`Execution.cancel`); a cancelled order shows as such among the status's recent orders."""
        done = self.exec.cancel(cloid, reason=reason)
        if done:
            self.state.mark_order(cloid, "canceled")
        return done

    def _submit(self, intent: OrderIntent) -> OrderAck:
        ack = self.exec.submit(intent)
        self.state.counts["orders"] += 1
        rec = {**intent.to_dict(), "status": ack.kind, "avg_px": ack.avg_px, "filled": ack.filled_size,
               "error": ack.error, "ts": self._now_ms()}  # fmt: skip
        self.state.recent_orders.append(rec)
        if not ack.ok:
            self.journal.alert("order_refused", {"cloid": intent.cloid, "error": ack.error, "is_buy": intent.is_buy,
                                                 "size": intent.size, "limit_px": intent.limit_px,
                                                 "reason": intent.reason, "status": ack.kind})  # fmt: skip
        return ack
