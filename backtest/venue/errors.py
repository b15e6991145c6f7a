"""The venue's error texts, in one place: the paper exchange answers with them and the client recognises them.

The first group is documented by HyperLiquid (docs "Exchange endpoint" / "Error responses"; quoted in
/work/shared/reference/hyperliquid-api.md §4); the client matches them by these constants, never by retyped text.
The second group covers cases the reference does not document: the wording is the paper exchange's own (said so in
docs/PAPER_EXCHANGE.md, "Known differences from the real API").
"""

from __future__ import annotations

from backtest.venue.rules import MIN_ORDER_VALUE

# --- documented by the venue -----------------------------------------------------------------------------------
ERR_TICK = "Price must be divisible by tick size."
ERR_MARGIN = "Insufficient margin to place order."
ERR_REDUCE = "Reduce only order would increase position."
ERR_IOC = "Order could not immediately match against any resting orders."
ERR_TPSL = "Invalid TP/SL price."
ERR_NO_LIQUIDITY = "No liquidity available for market order."
ERR_ORACLE = "Order price too far from oracle"
ERR_CANCEL = "Order was never placed, already canceled, or filled."
ERR_SIZE = "Order has invalid size."


def err_min_value(min_value: float) -> str:
    """The minimum-value refusal ("Order must have minimum value of $10.")."""
    return f"Order must have minimum value of ${min_value:g}."


ERR_MIN = err_min_value(MIN_ORDER_VALUE)

# a post-only (Alo) order that would cross at arrival; the venue goes on with ", bbo was <bid>@<ask>. asset=<a>"
ERR_POST_ONLY = "Post only order would have immediately matched"


def err_post_only(bid: str, ask: str, asset: int) -> str:
    """The post-only refusal with the touch it would have crossed (prices as the wire writes them)."""
    return f"{ERR_POST_ONLY}, bbo was {bid}@{ask}. asset={asset}"


# --- the paper exchange's own wording (undocumented cases) ------------------------------------------------------
ERR_ASSET = "Invalid asset."
ERR_REJECT = "Order rejected by the paper exchange (injected fault)."
ERR_PARENT = "Parent order did not fill."
ERR_DUP_CLOID = "Duplicate cloid."
ERR_MODIFY = "Cannot modify canceled or filled order"
ERR_LEVERAGE = "Invalid leverage value."
ERR_LEVERAGE_TYPE = "Cannot switch leverage type with open position."
ERR_LEVERAGE_MARGIN = "Insufficient margin to update leverage."


def is_duplicate_cloid(error: str | None) -> bool:
    """The venue refused an order because its cloid was already used (an earlier attempt landed)."""
    text = (error or "").lower()
    return "duplicate" in text and "cloid" in text


def is_post_only_rejection(error: str | None) -> bool:
    """The venue refused a post-only order because it would have crossed: a normal outcome, never retried."""
    return (error or "").startswith(ERR_POST_ONLY)


def is_gone(error: str | None) -> bool:
    """A cancel found nothing to cancel: the order was never placed, already cancelled or filled."""
    text = error or ""
    return text == ERR_CANCEL or "never placed" in text or "already canceled" in text  # parts of ERR_CANCEL
