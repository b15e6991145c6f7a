"""How orders look in /info answers (openOrders, frontendOpenOrders, orderStatus) and orderUpdates events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from live.paper_exchange.markets import fmt_num
from live.paper_exchange.orders import Order

if TYPE_CHECKING:
    from live.paper_exchange.matching import Engine


def order_view(engine: Engine, o: Order, frontend: bool = False) -> dict[str, Any]:
    market = engine.universe.by_name[o.coin]
    d: dict[str, Any] = {
        "coin": o.coin,
        "side": "B" if o.is_buy else "A",
        "limitPx": fmt_num(o.px, 8),
        "sz": fmt_num(o.sz, market.sz_decimals),
        "oid": o.oid,
        "timestamp": o.timestamp,
        "origSz": fmt_num(o.orig_sz, market.sz_decimals),
    }
    if o.cloid is not None:
        d["cloid"] = o.cloid
    if frontend:
        if o.is_trigger:
            kind = ("Take Profit" if o.tpsl == "tp" else "Stop") + (" Market" if o.is_market else " Limit")
            cond = f"Price {'above' if o.fires_above() else 'below'} {fmt_num(o.trigger_px or 0, 8)}"
        else:
            kind, cond = "Limit", "N/A"
        d.update(
            {
                "children": [order_view(engine, engine.orders[c], True) for c in o.children if c in engine.orders],
                "isPositionTpsl": o.position_tpsl,
                "isTrigger": o.is_trigger,
                "orderType": kind,
                "reduceOnly": o.reduce_only,
                "tif": o.tif,
                "triggerCondition": cond,
                "triggerPx": fmt_num(o.trigger_px or 0, 8),
            }
        )
    return d


def open_order_list(engine: Engine, user: str, dex: str, frontend: bool) -> list[dict[str, Any]]:
    out = []
    for o in engine.open_orders.get(user, {}).values():
        if engine.universe.by_name[o.coin].dex != dex or o.parent is not None:
            continue
        if o.status == "open":
            out.append(order_view(engine, o, frontend))
    return out


def order_status(engine: Engine, user: str, oid: Any) -> dict[str, Any]:
    if isinstance(oid, str):
        oid = engine.cloids.get((user, oid.lower()))
    o = engine.orders.get(oid) if isinstance(oid, int) else None
    if o is None or o.user != user:
        return {"status": "unknownOid"}
    status = "open" if o.status == "waiting" else o.status
    return {
        "status": "order",
        "order": {"order": order_view(engine, o, True), "status": status, "statusTimestamp": o.status_ts},
    }
