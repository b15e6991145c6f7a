"""HyperLiquid's request limits and how much history it keeps: one place, read by the client and the paper exchange.

Sources: HyperLiquid docs "Rate limits and user limits" and "Info endpoint" (see
/work/shared/reference/hyperliquid-api.md §3 and §7). The paper exchange serves the same limits, so a client that
works against it is inside them on the real venue.
"""

from __future__ import annotations

# --- history the venue keeps and returns ------------------------------------------------------------------------
CANDLE_HISTORY_LIMIT = 5000  # candleSnapshot: only the latest 5000 candles per coin and interval (1m: ~3.5 days)
FILLS_PER_RESPONSE = 2000  # userFills / userFillsByTime: at most 2000 fills an answer
FILLS_KEPT = 10_000  # userFillsByTime reaches only the 10000 most recent fills of a user

# --- REST weight budget (per IP) --------------------------------------------------------------------------------
REST_WEIGHT_PER_MINUTE = 1200
EXCHANGE_BATCH_PER_WEIGHT = 40  # an /exchange action weighs 1 + floor(orders / 40)
WEIGHT_LIGHT = 2  # l2Book, allMids, clearinghouseState, orderStatus
WEIGHT_INFO = 20  # every other /info request
CANDLE_ITEMS_PER_WEIGHT = 60  # candleSnapshot adds 1 weight per 60 candles returned

# --- WebSocket ----------------------------------------------------------------------------------------------------
WS_MAX_SUBSCRIPTIONS = 1000
WS_MESSAGES_PER_MINUTE = 2000
WS_IDLE_CLOSE_S = 60  # the server closes a socket it sent nothing on for 60 s (the SDK pings every 50 s)


def exchange_weight(n_orders: int = 1) -> int:
    """Weight of one /exchange action carrying `n_orders` orders (or cancels)."""
    return 1 + max(0, int(n_orders)) // EXCHANGE_BATCH_PER_WEIGHT


def candle_snapshot_weight(n_items: int) -> int:
    """Extra weight of a candleSnapshot answer with `n_items` candles (on top of WEIGHT_INFO)."""
    return max(0, int(n_items)) // CANDLE_ITEMS_PER_WEIGHT
