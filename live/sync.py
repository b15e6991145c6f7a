"""The trader's view kept true to the venue: the account, reconciliation, fills, orders a crash left unanswered.

`VenueSync` reads the venue (account, open orders, fills), applies `live.reconcile.reconcile` (a pure function) to the
legs in the shared `TraderState` and repairs through the `OrderDesk` (orphans cancelled, missing triggers placed,
legs the venue closed counted as trades); it journals every fill once (by trade id). The resting post-only order
(a maker style) is looked up by cloid first, at every bar and before every reconciliation, so its fills are legs
before the legs are compared with the venue's position (never adopted as an unknown position, never counted twice).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from backtest.domain import AccountState, Fill, OpenOrder
from backtest.venue.wire import cloid_for
from live.execution import ExchangeUnavailable, Execution
from live.journal import Journal, read_records
from live.orders import OrderDesk
from live.positions import Leg, net_size
from live.reconcile import reconcile
from live.state import TraderState


class VenueSync:
    """The venue is the truth (see the module docstring)."""

    def __init__(
        self,
        execution: Execution,
        state: TraderState,
        desk: OrderDesk,
        journal: Journal,
        coin: str,
        bar_ms: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.exec, self.state, self.desk, self.journal = execution, state, desk, journal
        self.coin, self.bar_ms, self.clock = coin, bar_ms, clock
        self._fills: list[Fill] = []  # the venue's last answer, for the exit prices of legs its triggers closed

    def account(self) -> AccountState | None:
        """The venue's account, or None (journalled and alerted) when it cannot be read."""
        try:
            return self.exec.account_state()
        except ExchangeUnavailable as exc:
            self.journal.alert("exchange_unavailable", {"error": str(exc)})
            self.journal.write("error", where="account", error=str(exc))
            return None

    def differs(self, acct: AccountState) -> bool:
        """The venue's position is not the legs' (a trigger fired between bars, ...)."""
        pos = acct.positions.get(self.coin)
        return abs((pos.size if pos else 0.0) - net_size(self.state.legs)) > self.desk.lot / 2

    # --- reconciliation -------------------------------------------------------------------------------------------
    def _adopt(self, side: int, size: float, entry_px: float, bar: int) -> Leg:
        tp, sl = self.state.policy.exit_levels(side, entry_px)
        leg_id = cloid_for(self.state.policy.policy_id, "adopted", bar, side, size)
        return Leg(leg_id, side, size, entry_px, bar, self.state.last_equity or 0.0, tp, sl, adopted=True)

    def check_resting(self, i: int) -> None:
        """The resting post-only order's status and fills by cloid (oid, trade ids) at the open of bar `i`: a fill
        becomes a leg, an order the venue closed is settled (`OrderDesk.settle`)."""
        if self.state.resting is not None:
            self.desk.check_resting(i)

    def reconcile_if_moved(self) -> None:
        """Reconcile now if the venue's position is not the legs' (TP/SL just put on fired at once)."""
        acct = self.account()
        if acct is not None and self.differs(acct):
            self.reconcile("position", acct=acct)

    def reconcile(self, why: str, acct: AccountState | None = None) -> None:
        """Make the legs the venue's position and orders (`live.reconcile`), repair, journal what differed."""
        st = self.state
        t = int(st.last_bar.time_ms // self.bar_ms) + 1 if st.last_bar else 0
        if st.resting is not None:  # its fills first (they may have landed since the account was read): read again
            self.check_resting(t)
            acct = None
        try:
            acct = acct or self.exec.account_state()
            orders: list[OpenOrder] = self.exec.open_orders()
        except ExchangeUnavailable as exc:
            self.journal.write("error", where="reconcile", error=str(exc))
            st.need_reconcile = True
            return
        t = int(st.last_bar.time_ms // self.bar_ms) + 1 if st.last_bar else 0
        believed = net_size(st.legs)  # the trader's position before the venue corrects it (the alert's figure)
        keep = frozenset({st.resting.cloid}) if st.resting is not None else frozenset()
        result = reconcile(st.legs, acct.positions.get(self.coin), orders, t, self.desk.lot, self._adopt, keep)
        st.counts["reconciles"] += 1
        st.since_reconcile = 0
        st.need_reconcile = False
        self.journal_fills()
        for lg in result.closed:
            fills = [f for f in self._fills if f.cloid in (lg.tp_cloid, lg.sl_cloid)]
            if fills:
                px = sum(f.px * f.size for f in fills) / sum(f.size for f in fills)
                self.desk.record_trade(lg, px, "tp" if fills[-1].cloid == lg.tp_cloid else "sl",
                                       exit_maker=not fills[-1].crossed, exit_ms=fills[-1].time_ms)  # fmt: skip
        st.legs = result.legs
        for o in result.cancel:
            if o.cloid:
                self.desk.cancel(o.cloid, "reconcile: orphan")
        by_leg: dict[str, list[str]] = {}
        for lg, kind in result.place:
            by_leg.setdefault(lg.leg_id, []).append(kind)
        for lg in result.legs:
            if lg.leg_id in by_leg:
                self.desk.place_triggers(lg, tuple(by_leg[lg.leg_id]))
        venue_pos = acct.positions.get(self.coin)
        self.journal.write(
            "reconcile",
            why=why,
            venue_size=venue_pos.size if venue_pos else 0.0,
            local_size=net_size(st.legs),
            diffs=result.diffs,
            closed_by_triggers=result.fired,
            cancelled=len(result.cancel),
            placed=len(result.place),
        )
        if result.diffs:
            st.counts["diffs"] += len(result.diffs)
            figures = {
                "why": why,
                "diffs": result.diffs,
                "venue_size": venue_pos.size if venue_pos else 0.0,
                "local_size": believed,
                "cancelled": len(result.cancel),
                "placed": len(result.place),
            }
            self.journal.alert("reconcile_diff", figures)

    # --- fills ----------------------------------------------------------------------------------------------------
    def journal_fills(self) -> None:
        """Journal every fill of ours not journalled yet (the venue's list is the truth)."""
        st = self.state
        try:
            fills = self.exec.fills_since(max(0, st.last_fill_ms - 60_000))
        except ExchangeUnavailable as exc:
            self.journal.write("error", where="fills", error=str(exc))
            return
        self._fills = fills
        st.fills_due = False
        seen = set(st.seen_tids)
        for f in fills:
            if f.tid in seen:
                continue
            st.seen_tids.append(f.tid)
            st.counts["fills"] += 1
            st.last_fill_ms = max(st.last_fill_ms, f.time_ms)
            self.journal.write("fill", coin=f.coin, oid=f.oid, cloid=f.cloid, side="B" if f.is_buy else "A",
                               size=f.size, px=f.px, fee=f.fee, closed_pnl=f.closed_pnl, time=f.time_ms, tid=f.tid,
                               dir=f.direction, crossed=f.crossed)  # fmt: skip
            st.mark_order(f.cloid, "filled", f.px)

    # --- after a crash --------------------------------------------------------------------------------------------
    def resolve_pending(self, saved: dict | None) -> None:
        """Orders journalled before a crash without an answer: look each up by cloid (never resend: the bar that
        decided them has passed); reconciliation then repairs the legs."""
        if saved is None:
            return
        acked = set()
        sent: dict[str, dict] = {}
        since = saved.get("orders_since_ms", saved.get("saved_ms", 0) - 600_000)  # a rebuilt state: the session
        for rec in read_records(self.journal.root, since_ms=since, kinds={"order", "ack"}):
            if rec["kind"] == "order":
                sent[rec["cloid"]] = rec
            else:
                acked.add(rec["cloid"])
        for cloid in sent:
            if cloid in acked:
                continue
            try:
                st = self.exec.order_status(cloid)
            except ExchangeUnavailable as exc:
                self.journal.write("error", where="resolve_pending", cloid=cloid, error=str(exc))
                continue
            self.journal.write("ack", cloid=cloid, status=st.status if st.found else "never_placed", via="restart",
                               oid=st.oid, filled=st.filled_size)  # fmt: skip
