"""What HyperLiquid and its Python SDK (0.24.0) can and cannot do, in one table the adapter code consults.

Like freqtrade's exchange classes: the quirks of one venue live in one small place, named, with where they come from.
"""

from __future__ import annotations

from backtest.venue import limits

CAPABILITIES: dict[str, object] = {
    # market data
    "candle_history_limit": limits.CANDLE_HISTORY_LIMIT,  # candleSnapshot keeps only the latest candles
    "candle_snapshot_includes_open_candle": True,  # the last candle returned may still be forming
    "ws_reconnects_itself": False,  # the SDK's WebSocket thread dies silently; the client must rebuild Info
    "ws_replays_on_resubscribe": False,  # no snapshot after a reconnect: backfill over REST and reconcile
    "ws_idle_close_s": limits.WS_IDLE_CLOSE_S,  # the server closes a socket it sent nothing on (SDK pings every 50 s)
    # orders
    "client_order_ids": True,  # 16-byte hex cloid, queryable with orderStatus
    "trigger_orders": True,  # TP/SL triggers (isMarket) rest on the venue: stops survive our process
    "market_orders": False,  # a "market" order is an aggressive IOC limit
    "sdk_rounds_order_prices": False,  # order()/bulk_orders() send prices as given: round them yourself
    "sdk_treats_hip3_ids_as_spot": True,  # asset ids >= 10000 get spot rounding (8 decimals) in market_open
    "nonce_is_ms_timestamp": True,  # two actions signed in the same millisecond collide: space them
    "schedule_cancel": True,  # dead man's switch (not used by default)
    # limits
    "rest_weight_per_minute": limits.REST_WEIGHT_PER_MINUTE,
    "exchange_weight": f"1 + floor(batch / {limits.EXCHANGE_BATCH_PER_WEIGHT})",
    "max_fills_per_query": limits.FILLS_PER_RESPONSE,
}


def capability(name: str) -> object:
    """One capability by name (KeyError names the known ones)."""
    try:
        return CAPABILITIES[name]
    except KeyError:
        raise KeyError(f"unknown capability {name!r}; known: {sorted(CAPABILITIES)}") from None
