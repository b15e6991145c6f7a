"""Invariants of the exchange's state, checked after every action and step when `check_invariants` is on (tests).

- every number anywhere in the state is finite (no NaN, no infinity);
- cash balance >= 0, unless cross positions' unrealised PnL covers the shortfall (cross value >= 0);
- account value >= 0 (a bankrupt account is closed out and the backstop takes the rest);
- isolated margins >= 0 and backstops >= 0;
- every open order has a positive size (or zero for a positionTpsl trigger), a finite positive price, and a
  known market; every cloid maps to an order of its own user.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from live.paper_exchange.accounts import value

if TYPE_CHECKING:
    from live.paper_exchange.engine import Engine

TOL = 1e-6


def _non_finite(x: Any, path: str, out: list[str]) -> None:
    if isinstance(x, float):
        if not math.isfinite(x):
            out.append(f"{path} = {x}")
    elif isinstance(x, dict):
        for k, v in x.items():
            _non_finite(v, f"{path}.{k}", out)
    elif isinstance(x, (list, tuple)):
        for i, v in enumerate(x):
            _non_finite(v, f"{path}[{i}]", out)


def problems(engine: Engine) -> list[str]:
    """Every broken invariant, as readable lines (empty when the state is sound)."""
    out: list[str] = []
    _non_finite(engine.to_json(), "state", out)
    marks = engine.marks()
    markets = engine.universe.by_name
    for addr, a in engine.accounts.items():
        if not all(math.isfinite(x) for x in (a.balance, a.backstop, a.funding_paid)):
            continue  # already reported above
        val = value(a, markets, marks)
        has_cross = any(p.is_cross for p in a.positions.values())
        if a.balance < -TOL and not (has_cross and val.cross_value >= -TOL):
            out.append(f"{addr}: negative cash balance {a.balance:.6f}")
        if val.account_value < -TOL:
            out.append(f"{addr}: negative account value {val.account_value:.6f}")
        if a.backstop < -TOL:
            out.append(f"{addr}: negative backstop {a.backstop:.6f}")
        for coin, p in a.positions.items():
            if not p.is_cross and p.margin < -TOL:
                out.append(f"{addr} {coin}: negative isolated margin {p.margin:.6f}")
            if p.szi == 0:
                out.append(f"{addr} {coin}: a zero-size position is kept")
    for user, book in engine.open_orders.items():
        for oid, o in book.items():
            if o.user != user or o.oid != oid or o.coin not in markets:
                out.append(f"order {oid}: filed under the wrong user or market")
            if not (o.sz > 0 or (o.position_tpsl and o.sz == 0)) or not (o.px > 0 and math.isfinite(o.px)):
                out.append(f"order {oid}: size {o.sz} / price {o.px} out of range")
    for (user, cloid), oid in engine.cloids.items():
        o = engine.orders.get(oid)
        if o is None or o.user != user or o.cloid != cloid:
            out.append(f"cloid {cloid} of {user}: points at order {oid} that is not its own")
    return out
