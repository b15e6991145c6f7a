"""The real API's per-order checks, in its order: asset, tick, lot, duplicate cloid, the oracle band, the $10
minimum. A shape-checked request (`wire.py`) becomes an `Order`, or gets the venue's own error text. Every rule and
text is the venue package's (`backtest/venue/rules.py`, `errors.py`)."""

from __future__ import annotations

from collections.abc import Container

from backtest.venue.errors import ERR_ASSET, ERR_DUP_CLOID, ERR_MIN, ERR_ORACLE, ERR_SIZE, ERR_TICK, ERR_TPSL
from backtest.venue.rules import meets_minimum, price_valid, size_valid, within_oracle_band
from live.paper_exchange.orders import Order, OrderRequest
from live.paper_exchange.pricing import Pricing


def order_from(
    req: OrderRequest,
    user: str,
    position_tpsl: bool,
    pricing: Pricing,
    cloids: Container[tuple[str, str]],
    now_ms: int,
) -> tuple[Order | None, str | None]:
    """An Order from a shape-checked request, or the real API's per-order error text (`cloids` holds the
    (user, cloid) pairs in use)."""
    market = pricing.universe.by_asset.get(req.asset)
    if market is None:
        return None, ERR_ASSET
    if not price_valid(req.px, market.sz_decimals):
        return None, ERR_TICK
    if not size_valid(req.sz, market.sz_decimals) and not (position_tpsl and req.sz == 0):
        return None, ERR_SIZE
    if req.cloid is not None and (user, req.cloid) in cloids:
        return None, ERR_DUP_CLOID
    mark = pricing.mark(market.name)
    px, sz = float(req.px), float(req.sz)
    if not within_oracle_band(px, mark):
        return None, ERR_ORACLE
    order = Order(0, user, market.name, req.is_buy, px, sz, sz, req.reduce_only, now_ms, cloid=req.cloid)
    if req.trigger_px is not None:
        if not price_valid(req.trigger_px, market.sz_decimals):
            return None, ERR_TPSL
        trig = float(req.trigger_px)
        if not within_oracle_band(trig, mark):
            return None, ERR_ORACLE
        order.trigger_px = trig
        order.is_market = req.is_market
        order.tpsl = req.tpsl
        order.position_tpsl = position_tpsl
    else:
        order.tif = req.tif
    if not meets_minimum(sz, mark, req.reduce_only):
        return None, ERR_MIN
    return order, None
