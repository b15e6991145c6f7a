"""Reconciliation as a pure function: the venue's position and open orders are the truth; the trader's legs follow.

`reconcile(legs, position, orders, ...)` returns the legs to keep, the orders to cancel, the triggers to (re)place
and every difference found, so the trader can act and journal; nothing here touches the network.

Rules, in order:
1. Same net size (within half a lot): keep the legs.
2. Venue flat: the legs are gone; those whose TP or SL trigger is no longer open were closed by it (expected, not a
   difference); a leg that went while both its triggers stayed open is a difference (someone else closed it).
3. Same side, smaller: legs whose TP or SL trigger is no longer open were closed by it; drop them. If the sizes
   still differ, adopt the venue's position (rule 4).
4. Anything else (opposite side, larger, unexplained): adopt the venue's position as one leg entered at its entry
   price on the current bar (max hold counts from now), with fresh TP/SL from the simulator's `exit_levels`.
5. Open orders on the coin that no leg owns (orphans, e.g. triggers of a closed leg or an order placed before a
   crash) are cancelled, except those the trader keeps (`keep`: its resting post-only order); a leg whose TP or SL
   trigger is missing gets it placed again (new revision, new cloid). A maker entry's leg has no triggers until the
   open after its fill bar (`Leg.protected` False): none is missing, and none of them fired.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from backtest.domain import OpenOrder, Position
from live.positions import Leg, net_size


@dataclass
class ReconcileResult:
    legs: list[Leg]
    cancel: list[OpenOrder] = field(default_factory=list)
    place: list[tuple[Leg, str]] = field(default_factory=list)  # (leg, "tp" | "sl") triggers to place
    closed: list[Leg] = field(default_factory=list)  # legs the venue closed
    fired: list[str] = field(default_factory=list)  # legs closed by their own TP/SL trigger: expected, not a diff
    diffs: list[dict[str, Any]] = field(default_factory=list)  # what the trader did not expect

    @property
    def clean(self) -> bool:
        return not (self.cancel or self.place or self.closed or self.diffs)


def reconcile(
    legs: list[Leg],
    position: Position | None,
    orders: list[OpenOrder],
    bar: int,
    lot: float,
    adopt: Callable[[int, float, float, int], Leg],
    keep: frozenset[str] = frozenset(),
) -> ReconcileResult:
    """See the module docstring. `adopt(side, size, entry_px, bar)` builds a leg for a venue position."""
    venue = position.size if position is not None else 0.0
    local = net_size(legs)
    open_cloids = {o.cloid for o in orders if o.cloid}
    res = ReconcileResult(legs=list(legs))
    tol = lot / 2
    if abs(venue - local) > tol:
        fired = [lg for lg in legs if lg.protected and not {lg.tp_cloid, lg.sl_cloid} <= open_cloids]
        if abs(venue) <= tol:
            res.closed, res.legs = list(legs), []
            res.fired = [lg.leg_id for lg in fired]
            if len(fired) < len(legs):  # some leg went although none of its triggers fired
                res.diffs.append({"kind": "venue_flat", "local": local, "venue": venue})
        else:
            same_side = local != 0 and (venue > 0) == (local > 0)
            if same_side and abs(venue) < abs(local):
                res.closed = fired
                res.fired = [lg.leg_id for lg in fired]
                res.legs = [lg for lg in legs if lg not in fired]
            if abs(venue - net_size(res.legs)) > tol:
                res.closed += [lg for lg in res.legs if lg not in res.closed]
                side = 1 if venue > 0 else -1
                entry = position.entry_px if position is not None else 0.0
                res.legs = [adopt(side, abs(venue), entry, bar)]
                res.diffs.append({"kind": "adopted", "local": local, "venue": venue, "entry_px": entry})
    owned = {c for lg in res.legs for c in (lg.tp_cloid, lg.sl_cloid)}
    leftovers = {c for lg in res.closed for c in (lg.tp_cloid, lg.sl_cloid)}  # the other trigger of a closed leg
    res.cancel = [o for o in orders if o.cloid not in owned and o.cloid not in keep]
    orphans = [o.cloid for o in res.cancel if o.cloid not in leftovers]
    if orphans:
        res.diffs.append({"kind": "orphan_orders", "cloids": orphans})
    before = {lg.leg_id for lg in legs}
    for i, lg in enumerate(res.legs):
        missing = [k for k in ("tp", "sl") if lg.trigger_cloid(k) not in open_cloids]
        if not missing or not lg.protected:
            continue
        if lg.leg_id in before:  # placed before and gone since: a new revision, so a new cloid
            lg = replace(lg, tp_rev=lg.tp_rev + ("tp" in missing), sl_rev=lg.sl_rev + ("sl" in missing))
            res.legs[i] = lg
            res.diffs.append({"kind": "missing_triggers", "leg": lg.leg_id, "which": missing})
        res.place += [(lg, k) for k in missing]
    return res
