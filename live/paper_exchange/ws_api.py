"""WebSocket adapter at /ws: greeting, subscribe/unsubscribe acks, ping/pong and the market and user channels.

Subscriptions are parsed by `wire.subscription_key`; anything malformed or unserved gets an `error` channel message
(the SDK prints it) and changes nothing.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from live.paper_exchange import wire

if TYPE_CHECKING:
    from live.paper_exchange.server import PaperExchange

GREETING = "Websocket connection established."
MAX_MESSAGE = 64 * 1024
MAX_SUBSCRIPTIONS = 1000  # per connection, as the real API's limit


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
        await self.px.on_subscribe(ws, key)
