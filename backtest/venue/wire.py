"""HyperLiquid wire shapes <-> domain objects (`backtest.domain`). Prices and sizes arrive as strings.

Only this module reads or writes the JSON shapes of `/info` answers, `/exchange` responses and WebSocket messages;
everything else speaks Bar, Position, AccountState, OpenOrder, Fill, OrderStatus and OrderAck.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from backtest.domain import AccountState, Bar, Fill, OpenOrder, OrderStatus, Position


class WireError(ValueError):
    """An answer from the venue does not have the shape this adapter expects (the message quotes it, shortened)."""


def _short(obj: Any) -> str:
    text = repr(obj)
    return text if len(text) <= 300 else text[:297] + "..."


def _f(x: Any, what: str) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        raise WireError(f"{what}: expected a number, got {_short(x)}") from None


def candle_to_bar(c: dict[str, Any], source: str = "hyperliquid") -> Bar:
    """A candle ({t, T, s, i, o, h, l, c, v, n}) as a Bar."""
    try:
        return Bar(
            time_ms=int(c["t"]),
            open=_f(c["o"], "candle o"),
            high=_f(c["h"], "candle h"),
            low=_f(c["l"], "candle l"),
            close=_f(c["c"], "candle c"),
            volume=_f(c.get("v", 0), "candle v"),
            trades=int(c.get("n", 0)),
            source=source,
        )
    except (KeyError, TypeError) as exc:
        raise WireError(f"candle without {exc}: {_short(c)}") from None


def parse_account(state: dict[str, Any]) -> AccountState:
    """A `clearinghouseState` answer as AccountState (positions by coin; zero-size entries dropped)."""
    try:
        summary = state["marginSummary"]
        positions: dict[str, Position] = {}
        for item in state.get("assetPositions", []):
            p = item["position"]
            size = _f(p["szi"], "szi")
            if size == 0:
                continue
            lev = p.get("leverage") or {}
            positions[p["coin"]] = Position(
                coin=p["coin"],
                size=size,
                entry_px=_f(p.get("entryPx") or 0, "entryPx"),
                leverage=_f(lev.get("value", 1), "leverage"),
                unrealized_pnl=_f(p.get("unrealizedPnl", 0), "unrealizedPnl"),
                margin_used=_f(p.get("marginUsed", 0), "marginUsed"),
            )
        return AccountState(
            equity=_f(summary["accountValue"], "accountValue"),
            withdrawable=_f(state.get("withdrawable", 0), "withdrawable"),
            margin_used=_f(summary.get("totalMarginUsed", 0), "totalMarginUsed"),
            positions=positions,
            time_ms=int(state.get("time") or 0),
        )
    except (KeyError, TypeError) as exc:
        raise WireError(f"clearinghouseState without {exc}: {_short(state)}") from None


def parse_open_orders(rows: list[dict[str, Any]]) -> list[OpenOrder]:
    """`frontendOpenOrders` (or `openOrders`) rows as OpenOrder."""
    out = []
    for r in rows or []:
        try:
            trig = r.get("triggerPx")
            if "isTrigger" in r:
                is_trigger = bool(r["isTrigger"])
            else:
                is_trigger = trig is not None and _f(trig, "triggerPx") > 0
            order_type = str(r.get("orderType", ""))
            tpsl = None
            if is_trigger:
                tpsl = "tp" if "Take Profit" in order_type else ("sl" if "Stop" in order_type else None)
            out.append(
                OpenOrder(
                    coin=r["coin"],
                    oid=int(r["oid"]),
                    cloid=(r.get("cloid") or None),
                    is_buy=r["side"] == "B",
                    size=_f(r["sz"], "sz"),
                    limit_px=_f(r["limitPx"], "limitPx"),
                    reduce_only=bool(r.get("reduceOnly", False)),
                    trigger_px=_f(trig, "triggerPx") if is_trigger else None,
                    tpsl=tpsl,
                    timestamp_ms=int(r.get("timestamp") or 0),
                )
            )
        except (KeyError, TypeError) as exc:
            raise WireError(f"open order without {exc}: {_short(r)}") from None
    return out


def parse_fills(rows: list[dict[str, Any]]) -> list[Fill]:
    """`userFills` / `userFillsByTime` rows (or a WebSocket userFills message's `fills`) as Fill, oldest first."""
    out = []
    for r in rows or []:
        try:
            out.append(
                Fill(
                    coin=r["coin"],
                    oid=int(r["oid"]),
                    cloid=r.get("cloid") or None,
                    is_buy=r["side"] == "B",
                    size=_f(r["sz"], "sz"),
                    px=_f(r["px"], "px"),
                    fee=_f(r.get("fee", 0), "fee"),
                    closed_pnl=_f(r.get("closedPnl", 0), "closedPnl"),
                    time_ms=int(r["time"]),
                    tid=int(r["tid"]),
                    start_position=_f(r.get("startPosition", 0), "startPosition"),
                    direction=str(r.get("dir", "")),
                    crossed=bool(r.get("crossed", True)),
                )
            )
        except (KeyError, TypeError) as exc:
            raise WireError(f"fill without {exc}: {_short(r)}") from None
    return sorted(out, key=lambda f: (f.time_ms, f.tid))


def parse_order_status(answer: dict[str, Any]) -> OrderStatus:
    """An `orderStatus` answer (by oid or cloid) as OrderStatus; `found` False for unknownOid."""
    if not isinstance(answer, dict) or answer.get("status") != "order":
        return OrderStatus(found=False)
    try:
        inner = answer["order"]
        order = inner["order"]
        orig = _f(order.get("origSz", order.get("sz", 0)), "origSz")
        left = _f(order.get("sz", 0), "sz")
        return OrderStatus(
            found=True,
            status=str(inner["status"]),
            oid=int(order["oid"]),
            cloid=order.get("cloid") or None,
            filled_size=max(0.0, orig - left) if inner["status"] != "filled" else orig,
        )
    except (KeyError, TypeError) as exc:
        raise WireError(f"orderStatus without {exc}: {_short(answer)}") from None


@dataclass(frozen=True)
class OrderAck:
    """The venue's answer for one order of an `order` action: resting, filled, waiting for its parent, or error."""

    kind: str  # "resting" | "filled" | "waiting" | "error"
    oid: int | None = None
    cloid: str | None = None
    filled_size: float = 0.0
    avg_px: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.kind != "error"


def parse_order_response(response: Any) -> list[OrderAck]:
    """An `/exchange` order response as one OrderAck per order; a top-level error becomes one error ack."""
    if not isinstance(response, dict):
        return [OrderAck("error", error=f"unexpected response {_short(response)}")]
    if response.get("status") != "ok":
        return [OrderAck("error", error=str(response.get("response", response)))]
    try:
        statuses = response["response"]["data"]["statuses"]
    except (KeyError, TypeError):
        return [OrderAck("error", error=f"unexpected response {_short(response)}")]
    out = []
    for st in statuses:
        if st == "waitingForFill" or st == "waitingForTrigger":
            out.append(OrderAck("waiting"))
        elif isinstance(st, dict) and "resting" in st:
            r = st["resting"]
            out.append(OrderAck("resting", oid=int(r["oid"]), cloid=r.get("cloid")))
        elif isinstance(st, dict) and "filled" in st:
            f = st["filled"]
            out.append(
                OrderAck(
                    "filled",
                    oid=int(f["oid"]),
                    cloid=f.get("cloid"),
                    filled_size=_f(f["totalSz"], "totalSz"),
                    avg_px=_f(f["avgPx"], "avgPx"),
                )
            )
        elif isinstance(st, dict) and "error" in st:
            out.append(OrderAck("error", error=str(st["error"])))
        else:
            out.append(OrderAck("error", error=f"unexpected status {_short(st)}"))
    return out


def parse_cancel_response(response: Any) -> list[str | None]:
    """An `/exchange` cancel response: None per cancelled order, else the error text."""
    if not isinstance(response, dict) or response.get("status") != "ok":
        return [str(response.get("response", response) if isinstance(response, dict) else response)]
    out: list[str | None] = []
    for st in response.get("response", {}).get("data", {}).get("statuses", []):
        out.append(None if st == "success" else str(st.get("error", st) if isinstance(st, dict) else st))
    return out


def cloid_for(*parts: object) -> str:
    """A deterministic client order id ("0x" + 32 hex digits) from its parts, e.g. (policy, bar time, leg).

    The same decision always maps to the same cloid, so a retried order can never be placed twice.
    """
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()
    return "0x" + digest[:32]
