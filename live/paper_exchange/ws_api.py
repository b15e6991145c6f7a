"""WebSocket adapter at /ws: greeting, subscribe/unsubscribe acks, ping/pong and the market and user channels.

Subscriptions are parsed by `wire.subscription_key`; anything malformed or unserved gets an `error` channel message
(the SDK prints it) and changes nothing. A subscription gets its snapshot at once (userFills with isSnapshot true,
mids, book, candle); after every replay step the hub publishes the market channels (`publish_market`), and after
every change the engine's events (fills, order updates, trades, user events) once they are durable
(`publish_events`). The shapes are `shapes.py`'s.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from backtest.venue.limits import FILLS_PER_RESPONSE, WS_MAX_SUBSCRIPTIONS
from live.paper_exchange import shapes, wire
from live.paper_exchange.prices import POINTS_PER_BAR

if TYPE_CHECKING:
    from live.paper_exchange.server import PaperExchange

GREETING = "Websocket connection established."
MAX_MESSAGE = 64 * 1024
MAX_SUBSCRIPTIONS = WS_MAX_SUBSCRIPTIONS  # per connection: the real API's limit (backtest/venue/limits.py)


def sub_key(sub: dict[str, Any]) -> str | None:
    """Routing key of a subscription; None when the paper exchange does not serve that channel."""
    return wire.subscription_key(sub)


class WsHub:
    """Connections and their subscriptions, indexed by routing key."""

    def __init__(self, px: PaperExchange) -> None:
        self.px = px
        self.subs: dict[str, set[web.WebSocketResponse]] = {}
        self.conns: set[web.WebSocketResponse] = set()
        self.keys_of: dict[web.WebSocketResponse, set[str]] = {}

    def has(self, key: str) -> bool:
        return bool(self.subs.get(key))

    def keys(self, prefix: str) -> list[str]:
        return [k for k, v in self.subs.items() if v and k.startswith(prefix)]

    async def send(self, key: str, channel: str, data: Any) -> None:
        conns = self.subs.get(key)
        if not conns:
            return
        text = json.dumps({"channel": channel, "data": data}, separators=(",", ":"))
        for ws in list(conns):
            await self._send(ws, text)

    async def _send(self, ws: web.WebSocketResponse, text: str) -> None:
        if ws.closed:
            self._forget(ws)
            return
        try:
            await ws.send_str(text)
        except (ConnectionError, RuntimeError):
            self._forget(ws)

    def _forget(self, ws: web.WebSocketResponse) -> None:
        self.conns.discard(ws)
        for key in self.keys_of.pop(ws, ()):
            conns = self.subs.get(key)
            if conns is not None:
                conns.discard(ws)
                if not conns:
                    del self.subs[key]

    async def drop_all(self) -> int:
        """Close every connection (fault injection); returns how many were dropped."""
        n = 0
        for ws in list(self.conns):
            self._forget(ws)
            await ws.close()
            n += 1
        return n

    async def close_all(self) -> None:
        for ws in list(self.conns):
            await ws.close()

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=None, max_msg_size=MAX_MESSAGE)
        await ws.prepare(request)
        self.conns.add(ws)
        await ws.send_str(GREETING)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_text(ws, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await self._error(ws, "Invalid message: binary frames are not accepted")
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self._forget(ws)
        return ws

    async def _error(self, ws: web.WebSocketResponse, text: str) -> None:
        await self._send(ws, json.dumps({"channel": "error", "data": text}))

    async def _on_text(self, ws: web.WebSocketResponse, text: str) -> None:
        try:
            msg = wire.loads(text)
        except wire.WireError:
            await self._error(ws, f"Invalid message: {text[:200]}")
            return
        method = msg.get("method") if isinstance(msg, dict) else None
        if method == "ping":
            await self._send(ws, '{"channel":"pong"}')
            return
        sub = msg.get("subscription") if isinstance(msg, dict) else None
        key = wire.subscription_key(sub)
        if method not in ("subscribe", "unsubscribe") or key is None:
            await self._error(ws, f"Invalid subscription: {text[:200]}")
            return
        mine = self.keys_of.setdefault(ws, set())
        if method == "subscribe" and key not in mine and len(mine) >= MAX_SUBSCRIPTIONS:
            await self._error(ws, f"Too many subscriptions (at most {MAX_SUBSCRIPTIONS} per connection)")
            return
        await self._send(ws, json.dumps({"channel": "subscriptionResponse", "data": msg}, separators=(",", ":")))
        if method == "unsubscribe":
            self.subs.get(key, set()).discard(ws)
            mine.discard(key)
            return
        self.subs.setdefault(key, set()).add(ws)
        mine.add(key)
        await self._snapshot(ws, key)

    # --- publishing -----------------------------------------------------------------------------------------------
    async def publish_market(self) -> None:
        """The market channels after a replay step: mids, books, the forming candle, one tape trade."""
        px = self.px
        if not self.conns:
            return
        for key in self.keys("allMids:"):
            await self.send(key, "allMids", shapes.all_mids_message(px.mids(key.split(":", 1)[1])))
        for key in self.keys("l2Book:"):
            coin = key.split(":", 1)[1]
            if coin in px.universe.by_name:
                await self.send(key, "l2Book", px.l2(coin))
        for key in self.keys("candle:"):
            coin, interval = key.split(":", 1)[1].rsplit(",", 1)
            if coin in px.universe.by_name:
                rows = px.candles(coin, interval, None, None)
                if rows:
                    await self.send(key, "candle", rows[-1])
        for key in self.keys("trades:"):
            coin = key.split(":", 1)[1]
            if coin in px.universe.by_name:
                await self.send(key, "trades", [self._tape_trade(coin)])

    def _tape_trade(self, coin: str) -> dict[str, Any]:
        """One synthetic market trade per replay step, so the trades channel is alive without user activity."""
        m = self.px.universe.by_name[coin]
        f = self.px.feed
        tid = f.bar * POINTS_PER_BAR + f.point
        up = f.point == 0 or f.price >= f.path(f.bar)[f.point - 1]
        sz = max(float(f.v[f.bar]) / POINTS_PER_BAR / m.scale, 10**-m.sz_decimals)
        return shapes.tape_trade(coin, m, up, self.px.engine.mark(coin), sz, tid, f.now_ms)

    async def publish_events(self) -> None:
        """Push queued fills, order updates, trades and user events to their subscribers, once durable."""
        px = self.px
        events = px.engine.take_events()
        if not events or not self.conns:
            return
        await px.durable()
        uni, now = px.universe, px.feed.now_ms
        fills: dict[str, list[Any]] = {}
        orders: dict[str, list[Any]] = {}
        trades: dict[str, list[Any]] = {}
        user_events: list[tuple[str, dict[str, Any]]] = []
        for kind, key, payload in events:
            if kind == "fill":
                m = uni.by_name[payload.coin]
                fills.setdefault(key, []).append(shapes.fill(payload, m))
                trades.setdefault(payload.coin, []).append(shapes.trade(payload, m))
            elif kind == "order":
                orders.setdefault(key, []).append(shapes.order_update(payload, uni.by_name[payload.coin]))
            elif kind == "liquidation":
                user_events.append((key, shapes.liquidation_event(key, payload, now)))
            elif kind == "funding":
                coin, paid, szi, rate = payload
                user_events.append((key, shapes.funding_event(coin, uni.by_name[coin], paid, szi, rate, now)))
            elif kind == "nonUserCancel":
                user_events.append((key, shapes.non_user_cancel_event(*payload)))
        for user, rows in fills.items():
            await self.send(f"userFills:{user}", "userFills", shapes.user_fills_message(user, rows, snapshot=False))
            await self.send(f"userEvents:{user}", "user", shapes.fills_event(rows))
        for user, rows in orders.items():
            await self.send(f"orderUpdates:{user}", "orderUpdates", rows)
        for coin, rows in trades.items():
            await self.send(f"trades:{coin}", "trades", rows)
        for user, data in user_events:
            await self.send(f"userEvents:{user}", "user", data)

    async def _snapshot(self, ws: web.WebSocketResponse, key: str) -> None:
        """Snapshot on subscribe: userFills (isSnapshot true), current mids, book and candle."""
        px = self.px
        kind, arg = key.split(":", 1)
        msg: tuple[str, Any] | None = None
        if kind == "userFills":
            rows = shapes.fills(px.engine.fills.get(arg, [])[-FILLS_PER_RESPONSE:], px.universe)
            msg = ("userFills", shapes.user_fills_message(arg, rows, snapshot=True))
        elif kind == "allMids":
            msg = ("allMids", shapes.all_mids_message(px.mids(arg)))
        elif kind == "l2Book" and arg in px.universe.by_name:
            msg = ("l2Book", px.l2(arg))
        elif kind == "candle":
            coin, interval = arg.rsplit(",", 1)
            rows = px.candles(coin, interval, None, None) if coin in px.universe.by_name else []
            if rows:
                msg = ("candle", rows[-1])
        if msg is not None:
            await self._send(ws, wire.dumps({"channel": msg[0], "data": msg[1]}).decode())
