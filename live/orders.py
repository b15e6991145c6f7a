"""The trader's order side: what an action does on the venue, in the simulator's order of events.

`OrderDesk` is a mixin of `live.trader.Trader` (it uses the trader's params, simulator parameters, legs, stream,
journal, execution and risk state): max-hold and signal closes as one reduce-only IOC, then an open sized by the
simulator's rule and capped by the risk limits; TP/SL triggers at the simulator's exit levels; flattening; the trade
statistics the sizing rule reads.
"""

from __future__ import annotations

import math

from backtest.domain import Bar
from backtest.sim import ACTION_NAMES, HOLD, action_orders, exit_levels, size_fraction
from backtest.venue.wire import OrderAck, cloid_for
from live import risk
from live.execution import ExchangeUnavailable, OrderIntent
from live.positions import Leg, net_size, side_of


class OrderDesk:
    """Mixin: acting on decisions (see the module docstring)."""

    def _act(self, action: int, bar: Bar, t: int, equity: float, blocked: str | None) -> None:
        """The simulator's order of events at the next open: max-hold exits, then the action on what is left.

        Orders go out in that order and as early as possible (closes, then the open); trigger cancels and new
        TP/SL triggers follow, since they do not change the position."""
        hold = self.sim.hold_bars
        due = [lg for lg in self.legs if hold > 0 and (t + 1) - lg.entry_bar >= hold]
        rest = [lg for lg in self.legs if lg not in due]
        close_side, open_side = (0.0, 0.0)
        if action != HOLD:
            close_side, open_side = action_orders(
                action, float(side_of(rest)), len(rest), blocked is not None, self.limits.max_positions
            )
        signal = [lg for lg in rest if close_side != 0 and lg.side == close_side]
        closed_ok = True
        if due or signal:
            closed_ok = self._close_legs(due + signal, "signal" if signal else "max_hold", bar, t, cancel=False,
                                         reasons={lg.leg_id: "max_hold" for lg in due})  # fmt: skip
        if open_side != 0:
            if closed_ok:
                self._open_leg(int(open_side), bar, t, equity)
            else:
                self.journal.write("skip", bar=bar.time_ms, action=ACTION_NAMES[action], why="the close did not fill")
        elif blocked and action != HOLD and close_side == 0 and not rest:
            self.journal.write("skip", bar=bar.time_ms, action=ACTION_NAMES[action], why=blocked)
        if closed_ok:  # a close that did not fill keeps its triggers; reconciliation sorts the position out
            for lg in due + signal:
                self._cancel_triggers(lg, "leg closed")

    def _open_leg(self, side: int, bar: Bar, t: int, equity: float) -> None:
        p = self.sim
        frac = size_fraction(self.stats.n_trades, self.stats.n_wins, self.stats.sum_win, self.stats.sum_loss, p)
        notional = equity * frac * self.size_multiplier * p.leverage
        size = notional / bar.close if bar.close > 0 else 0.0
        pos_notional = abs(net_size(self.legs)) * bar.close
        size, cut = risk.cap_open_size(size, bar.close, equity, pos_notional, len(self.legs), self.limits)
        size = self.venue.rules.round_size(size)
        if cut:
            self.journal.write("risk", event="size_capped", why=cut, size=size)
        if size <= 0 or not self.venue.rules.meets_minimum(size, bar.close):
            self.journal.write("skip", bar=bar.time_ms, why="size below the venue minimum", size=size)
            return
        is_buy = side > 0
        cloid = cloid_for(self.id.policy_id, bar.time_ms, "entry")
        intent = OrderIntent(
            cloid=cloid,
            is_buy=is_buy,
            size=size,
            limit_px=self.exec.ioc_price(is_buy, bar.close, self.params.live.ioc_slippage_pct / 100.0),
            reason="open",
            leg=cloid,
            decision_px=bar.close,
            bar_ms=bar.time_ms,
        )
        ack = self._submit(intent)
        if ack.kind != "filled" or not ack.filled_size or not ack.avg_px:
            return
        atr_t = self.stream.features.atr if p.atr_on else 0.0
        tp, sl = exit_levels(float(side), ack.avg_px, atr_t if math.isfinite(atr_t) else 0.0, p)
        leg = Leg(cloid, side, ack.filled_size, ack.avg_px, t + 1, equity, float(tp), float(sl))
        self.legs.append(leg)
        self._save_state()  # before the triggers: a crash now leaves a leg whose triggers reconciliation places
        self._place_triggers(leg, ("tp", "sl"))
        self._fills_due = True

    def _close_legs(
        self,
        legs: list[Leg],
        reason: str,
        bar: Bar | None,
        t: int | None,
        cancel: bool = True,
        reasons: dict[str, str] | None = None,
    ) -> bool:
        """One reduce-only IOC for `legs`; True when it filled. `cancel` also cancels their triggers now."""
        if not legs:
            return True
        size = self.venue.rules.round_size(sum(lg.size for lg in legs))
        side = legs[0].side
        is_buy = side < 0
        ref = bar.close if bar is not None else (self.venue.feed.mid or legs[0].entry_px)
        key = bar.time_ms if bar is not None else int(self.clock() * 1000)
        intent = OrderIntent(
            cloid=cloid_for(self.id.policy_id, key, "close", *sorted(lg.leg_id for lg in legs)),
            is_buy=is_buy,
            size=size,
            limit_px=self.exec.ioc_price(is_buy, ref, self.params.live.ioc_slippage_pct / 100.0),
            reduce_only=True,
            reason=reason,
            leg=",".join(lg.leg_id for lg in legs),
            decision_px=ref,
            bar_ms=bar.time_ms if bar is not None else None,
        )
        ack = self._submit(intent)
        closed = ack.kind == "filled" and bool(ack.avg_px) and ack.filled_size >= size - self._lot / 2
        if closed:
            for lg in legs:
                self._record_trade(lg, float(ack.avg_px), (reasons or {}).get(lg.leg_id, reason))
            self.legs = [lg for lg in self.legs if lg not in legs]
            self._save_state()
        if cancel:
            for lg in legs:
                self._cancel_triggers(lg, f"{reason}: leg closed")
        self._need_reconcile = self._need_reconcile or not closed
        self._fills_due = True
        return closed

    def _cancel_triggers(self, leg: Leg, reason: str) -> None:
        for kind in ("tp", "sl"):
            self._cancel(leg.trigger_cloid(kind), reason)

    def _cancel(self, cloid: str, reason: str) -> bool:
        """Cancel by cloid (`Execution.cancel`); a cancelled order shows as such among the status's recent orders."""
        done = self.exec.cancel(cloid, reason=reason)
        if done:
            self._mark_order(cloid, "canceled")
        return done

    def _mark_order(self, cloid: str | None, status: str, avg_px: float | None = None) -> None:
        """A resting order of the recent-orders list changed on the venue (cancelled, or a trigger filled)."""
        for rec in self.recent_orders:
            if rec.get("cloid") == cloid and rec.get("status") in ("resting", "waiting"):
                rec["status"] = status
                if avg_px is not None:
                    rec["avg_px"] = avg_px

    def flatten(self, reason: str) -> None:
        """Close everything on the coin and cancel every order (emergency stop, stop)."""
        self._close_legs(list(self.legs), reason, self.last_bar, None)
        acct = self._account()
        pos = acct.positions.get(self.id.coin) if acct else None
        if pos is not None and abs(pos.size) > self._lot / 2:  # the venue still has something: close it all
            is_buy = pos.size < 0
            ref = self.venue.feed.mid or (self.last_bar.close if self.last_bar else pos.entry_px)
            intent = OrderIntent(
                cloid=cloid_for(self.id.policy_id, int(self.clock() * 1000), "flatten"),
                is_buy=is_buy,
                size=self.venue.rules.round_size(abs(pos.size)),
                limit_px=self.exec.ioc_price(is_buy, ref, self.params.live.ioc_slippage_pct / 100.0),
                reduce_only=True,
                reason=reason,
            )
            self._submit(intent)
            self.legs = []
        try:
            for o in self.exec.open_orders():
                if o.cloid:
                    self._cancel(o.cloid, reason)
        except ExchangeUnavailable as exc:
            self.journal.write("error", where="flatten", error=str(exc))
        self._sync_fills()
        self.journal.write("flatten", reason=reason)

    def _record_trade(self, leg: Leg, exit_px: float, reason: str) -> None:
        """A closed leg into the trade statistics the sizing rule reads: its return on the equity at entry, net of
        fees as the simulator counts them (taker fee on both legs; the journal's fills have the venue's own)."""
        gross = leg.side * leg.size * (exit_px - leg.entry_px)
        fees = leg.size * (leg.entry_px + exit_px) * self.sim.taker_frac
        ret = (gross - fees) / leg.eq_entry if leg.eq_entry > 0 else 0.0
        self.stats.record(ret)
        trade = {"leg": leg.leg_id, "side": leg.side, "size": leg.size, "entry_px": leg.entry_px,
                 "exit_px": exit_px, "gross_pnl": gross, "est_fees": fees, "return_pct": ret * 100,
                 "reason": reason}  # fmt: skip
        self.stats.recent = [*self.stats.recent[-49:], trade]
        self.journal.write("trade", **trade)

    def _place_triggers(self, leg: Leg, kinds: tuple[str, ...]) -> None:
        for kind in kinds:
            level = leg.tp_px if kind == "tp" else leg.sl_px
            is_buy = leg.side < 0
            trig, limit = self.exec.trigger_prices(is_buy, level)
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

    def _submit(self, intent: OrderIntent) -> OrderAck:
        ack = self.exec.submit(intent)
        self.counts["orders"] += 1
        rec = {**intent.to_dict(), "status": ack.kind, "avg_px": ack.avg_px, "filled": ack.filled_size,
               "error": ack.error, "ts": int(self.clock() * 1000)}  # fmt: skip
        self.recent_orders.append(rec)
        if not ack.ok:
            self._alert("order_error", {"cloid": intent.cloid, "error": ack.error})
        return ack
