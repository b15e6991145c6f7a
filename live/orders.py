"""The order desk: what a decision does on the venue, in the simulator's order of events; it owns the legs.

`OrderDesk.act` takes one decided action: legs past max hold and a closing signal's legs close first, as one
reduce-only IOC; then `action_orders` (the simulator's action interpreter) may open a leg, sized by the simulator's
rule (`size_fraction`) times the size multiplier and capped by the risk limits, sent as an IOC with a deterministic
cloid; each filled entry gets reduce-only TP/SL triggers at the simulator's `exit_levels`. It also closes legs and
whatever else the venue holds on the coin (flattening), cancels by cloid, and keeps the trade statistics the sizing
rule reads. Every order goes through `live.execution.Execution` (journalled before it is sent).

Inputs, all explicit: the execution, the asset's rules, the shared `TraderState`, the `RiskGuard`, the journal, the
IOC slippage, where the current mid price comes from (the feed) and the clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from backtest.domain import AccountState, Bar
from backtest.sim import ACTION_NAMES, HOLD, action_orders, size_fraction
from backtest.venue.rules import AssetRules
from backtest.venue.wire import OrderAck, cloid_for
from live.execution import ExchangeUnavailable, Execution, OrderIntent
from live.journal import Journal
from live.positions import Leg, net_size, side_of
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
        """The simulator's order of events at the next open: max-hold exits, then the action on what is left.

        Orders go out in that order and as early as possible (closes, then the open); trigger cancels and new
        TP/SL triggers follow, since they do not change the position."""
        legs, hold = self.state.legs, self.state.policy.sim.hold_bars
        due = [lg for lg in legs if hold > 0 and (t + 1) - lg.entry_bar >= hold]
        rest = [lg for lg in legs if lg not in due]
        close_side, open_side = (0.0, 0.0)
        if action != HOLD:
            close_side, open_side = action_orders(
                action, float(side_of(rest)), len(rest), blocked is not None, self.risk.limits.max_positions
            )
        signal = [lg for lg in rest if close_side != 0 and lg.side == close_side]
        closed_ok = True
        if due or signal:
            closed_ok = self.close_legs(due + signal, "signal" if signal else "max_hold", bar, cancel=False,
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
        is_buy = side > 0
        cloid = cloid_for(st.policy.policy_id, bar.time_ms, "entry")
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
        tp, sl = st.policy.exit_levels(side, ack.avg_px)
        leg = Leg(cloid, side, ack.filled_size, ack.avg_px, t + 1, equity, tp, sl)
        st.legs.append(leg)
        self._save()  # before the triggers: a crash now leaves a leg whose triggers reconciliation places
        self.place_triggers(leg, ("tp", "sl"))
        st.fills_due = True

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
        closed = ack.kind == "filled" and bool(ack.avg_px) and ack.filled_size >= size - self.lot / 2
        if closed:
            for lg in legs:
                self.record_trade(lg, float(ack.avg_px), (reasons or {}).get(lg.leg_id, reason))
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

    def record_trade(self, leg: Leg, exit_px: float, reason: str) -> None:
        """A closed leg into the trade statistics the sizing rule reads: its return on the equity at entry, net of
        fees as the simulator counts them (taker fee on both legs; the journal's fills have the venue's own)."""
        gross = leg.side * leg.size * (exit_px - leg.entry_px)
        fees = leg.size * (leg.entry_px + exit_px) * self.state.policy.sim.taker_frac
        ret = (gross - fees) / leg.eq_entry if leg.eq_entry > 0 else 0.0
        stats = self.state.stats
        stats.record(ret)
        trade = {"leg": leg.leg_id, "side": leg.side, "size": leg.size, "entry_px": leg.entry_px,
                 "exit_px": exit_px, "gross_pnl": gross, "est_fees": fees, "return_pct": ret * 100,
                 "reason": reason}  # fmt: skip
        stats.recent = [*stats.recent[-49:], trade]
        self.journal.write("trade", **trade)

    # --- triggers and cancels -------------------------------------------------------------------------------------
    def place_triggers(self, leg: Leg, kinds: tuple[str, ...]) -> None:
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
