"""The real SDK client (`SdkFeed`) against a loopback aiohttp server speaking /info and the /ws WebSocket."""

from __future__ import annotations

import asyncio
import json
import threading
import time

from aiohttp import WSMsgType, web

from backtest.venue.feed import SdkFeed
from tests.support.stub_api import COIN, StubApi, make_candles


class WsStub:
    def __init__(self, candles):
        self.api = StubApi(candles)
        self.candles = candles
        self.drop = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.port = 0

    async def info(self, request):
        status, payload = self.api.answer(await request.json())
        return web.json_response(payload, status=status)

    async def ws(self, request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str("Websocket connection established.")
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            body = json.loads(msg.data)
            if body.get("method") == "subscribe":
                await ws.send_json({"channel": "subscriptionResponse", "data": body})
                for c in self.candles[:3]:
                    await ws.send_json({"channel": "candle", "data": c})
                while not self.drop.is_set():
                    await asyncio.sleep(0.02)
                await ws.close()  # the server drops the connection
        return ws

    def start(self) -> str:
        app = web.Application()
        app.router.add_post("/info", self.info)
        app.router.add_get("/ws", self.ws)
        runner = web.AppRunner(app)
        ready = threading.Event()

        async def serve():
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]
            ready.set()

        def run():
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(serve())
            self.loop.run_forever()

        threading.Thread(target=run, daemon=True).start()
        ready.wait(5)
        self.runner = runner
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)


def _wait(cond, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end and not cond():
        time.sleep(0.02)
    return cond()


def test_sdk_feed_receives_candles_and_notices_a_dropped_socket():
    stub = WsStub(make_candles(10, 1_704_067_800_000))
    url = stub.start()
    feed = SdkFeed(url, "xyz", timeout_s=5)
    got = []
    try:
        feed.subscribe({"type": "candle", "coin": COIN, "interval": "1m"}, got.append)
        assert _wait(lambda: len(got) == 3)
        assert got[0]["data"]["t"] == stub.candles[0]["t"] and feed.is_alive()
        rest = feed.candles_snapshot(COIN, "1m", 0, 2_000_000_000_000)
        assert len(rest) == 10
        stub.drop.set()
        assert _wait(lambda: not feed.is_alive())
    finally:
        feed.close()
        stub.stop()
