"""The trader's view kept true to the venue: reconciliation, fills, orders left unanswered by a crash.

`VenueSync` is a mixin of `live.trader.Trader`: it asks the venue for the account, open orders and fills, applies
`live.reconcile.reconcile` (a pure function) and journals every fill once.
"""

from __future__ import annotations

import math

from backtest.domain import AccountState, OpenOrder
from backtest.sim import exit_levels
from backtest.venue.wire import cloid_for
from live.execution import ExchangeUnavailable
from live.positions import Leg, net_size
from live.reconcile import reconcile


class VenueSync:
    """Mixin: reconciliation and fill journalling (see the module docstring)."""

    def _adopt(self, side: int, size: float, entry_px: float, bar: int) -> Leg:
        atr_t = self.stream.features.atr if self.sim.atr_on else 0.0
        tp, sl = exit_levels(float(side), entry_px, atr_t if math.isfinite(atr_t) else 0.0, self.sim)
        leg_id = cloid_for(self.id.policy_id, "adopted", bar, side, size)
        eq = self.last_equity or 0.0
        return Leg(leg_id, side, size, entry_px, bar, eq, float(tp), float(sl), adopted=True)

    def _reconcile(self, why: str, acct: AccountState | None = None) -> None:
        try:
            acct = acct or self.exec.account_state()
            orders: list[OpenOrder] = self.exec.open_orders()
        except ExchangeUnavailable as exc:
            self.journal.write("error", where="reconcile", error=str(exc))
            self._need_reconcile = True
            return
        t = self._bar_index(self.last_bar.time_ms) + 1 if self.last_bar else 0
        result = reconcile(self.legs, acct.positions.get(self.id.coin), orders, t, self._lot, self._adopt)
        self.counts["reconciles"] += 1
        self._since_reconcile = 0
        self._need_reconcile = False
        self._sync_fills()
        for lg in result.closed:
            fills = [f for f in self._fills_cache if f.cloid in (lg.tp_cloid, lg.sl_cloid)]
            if fills:
                px = sum(f.px * f.size for f in fills) / sum(f.size for f in fills)
                self._record_trade(lg, px, "tp" if fills[-1].cloid == lg.tp_cloid else "sl")
        self.legs = result.legs
        for o in result.cancel:
            if o.cloid:
                self._cancel(o.cloid, "reconcile: orphan")
        by_leg: dict[str, list[str]] = {}
        for lg, kind in result.place:
            by_leg.setdefault(lg.leg_id, []).append(kind)
        for lg in result.legs:
            if lg.leg_id in by_leg:
                self._place_triggers(lg, tuple(by_leg[lg.leg_id]))
        venue_pos = acct.positions.get(self.id.coin)
        self.journal.write(
            "reconcile",
            why=why,
            venue_size=venue_pos.size if venue_pos else 0.0,
            local_size=net_size(self.legs),
            diffs=result.diffs,
            closed_by_triggers=result.fired,
            cancelled=len(result.cancel),
            placed=len(result.place),
        )
        if result.diffs:
            self.counts["diffs"] += len(result.diffs)
            self._alert("reconcile_diff", {"why": why, "diffs": result.diffs})

    def _sync_fills(self) -> None:
        """Journal every fill of ours the trader has not journalled yet (the venue's list is the truth)."""
        try:
            fills = self.exec.fills_since(max(0, self.last_fill_ms - 60_000))
        except ExchangeUnavailable as exc:
            self.journal.write("error", where="fills", error=str(exc))
            return
        self._fills_cache = fills
        self._fills_due = False
        seen = set(self.seen_tids)
        for f in fills:
            if f.tid in seen:
                continue
            self.seen_tids.append(f.tid)
            self.counts["fills"] += 1
            self.last_fill_ms = max(self.last_fill_ms, f.time_ms)
            self.journal.write("fill", coin=f.coin, oid=f.oid, cloid=f.cloid, side="B" if f.is_buy else "A",
                               size=f.size, px=f.px, fee=f.fee, closed_pnl=f.closed_pnl, time=f.time_ms, tid=f.tid,
                               dir=f.direction, crossed=f.crossed)  # fmt: skip
            self._mark_order(f.cloid, "filled", f.px)

    def _resolve_pending(self, saved: dict | None) -> None:
        """Orders journalled before a crash without an answer: look each up by cloid (never resend: the bar that
        decided them has passed); reconciliation then repairs the legs."""
        if saved is None:
            return
        from live.journal import read_records

        acked = set()
        sent: dict[str, dict] = {}
        for rec in read_records(self.journal.root, since_ms=saved.get("saved_ms", 0) - 600_000,
                                kinds={"order", "ack"}):  # fmt: skip
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
