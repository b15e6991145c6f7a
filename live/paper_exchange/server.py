"""Composition root: builds the exchange from its parts, runs the replay clock and serves HTTP + WebSocket.

`start_in_thread(config)` runs a server on its own event loop thread for tests and benchmarks; `serve(config)`
runs one in the foreground for the CLI.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd
from aiohttp import web

from live.paper_exchange.config import PaperExchangeConfig
from live.paper_exchange.faults import FaultInjector
from live.paper_exchange.http_api import HttpApi, make_fault_middleware
from live.paper_exchange.markets import Universe, fmt_num, fmt_px
from live.paper_exchange.matching import Engine, Levels
from live.paper_exchange.prices import POINTS_PER_BAR, PriceFeed, load_bars
from live.paper_exchange.signing import NonceTracker
from live.paper_exchange.state import load_state, save_state
from live.paper_exchange.ws_api import WsHub

log = logging.getLogger("paper_exchange")


class PaperExchange:
    """One exchange instance: feed, universe, engine, signature checks, faults, WebSocket hub, persistence."""

    def __init__(self, cfg: PaperExchangeConfig, bars: pd.DataFrame | None = None) -> None:
        self.cfg = cfg
        self.cfg_is_mainnet = False  # the SDK signs with source "b" for every URL but mainnet's
        saved = load_state(cfg.state_path) if cfg.state_path else None
        if bars is None:
            start_ms = saved["data_start_ms"] if saved else _start_ms(cfg.history_bars)
            bars, self.data_description = load_bars(
                cfg.data, cfg.n_bars, cfg.seed, pd.Timestamp(start_ms, unit="ms", tz="UTC")
            )
        else:
            self.data_description = f"injected bars ({len(bars)} rows)"
        self.feed = PriceFeed(bars, cfg.history_bars, cfg.candle_limit)
        self.data_start_ms = int(self.feed.t_ms[0])
        self.universe = Universe(cfg.markets, self.feed.first_open)
        self.faults = FaultInjector(cfg.faults)
        self.engine = Engine(cfg, self.universe, self.feed, self.faults.reject_rng)
        self.nonces = NonceTracker()
        self.hub = WsHub(self)
        self.http = HttpApi(self)
        self._dirty = False
        self._tasks: list[asyncio.Task[Any]] = []
        self._step_lock: asyncio.Lock | None = None
        if saved:
            self.feed.restore(saved["feed"])
            self.engine.load_json(saved["engine"])
            self.nonces.load_json(saved.get("nonces", {}))
        for address, usd in cfg.fund:
            if address.lower() not in self.engine.accounts:
                self.engine.fund(address, usd)

    # --- market data views ------------------------------------------------------------------------------------
    def mids(self, dex: str) -> dict[str, str]:
        return {m.name: fmt_px(self.engine.mark(m.name), m) for m in self.universe.per_dex.get(dex, [])}

    def l2(self, coin: str) -> dict[str, Any]:
        m = self.universe.by_name[coin]
        bids, asks = self.engine.book(m)

        def side(levels: Levels) -> list[dict[str, Any]]:
            return [
                {"px": fmt_px(p, m), "sz": fmt_num(s, m.sz_decimals), "n": 1 + i % 3} for i, (p, s) in enumerate(levels)
            ]

        return {"coin": coin, "time": self.feed.now_ms, "levels": [side(bids), side(asks)]}

    def candles(self, coin: str, interval: str, start_ms: int | None, end_ms: int | None) -> list[dict[str, Any]]:
        m = self.universe.by_name[coin]
        k = m.scale
        return [
            {
                "t": t,
                "T": t_end,
                "s": coin,
                "i": interval,
                "o": fmt_px(o * k, m),
                "c": fmt_px(c * k, m),
                "h": fmt_px(h * k, m),
                "l": fmt_px(lo * k, m),
                "v": fmt_num(v / k, m.sz_decimals),
                "n": n,
            }
            for t, t_end, o, h, lo, c, v, n in self.feed.candles(interval, start_ms, end_ms)
        ]

    def day_ago_price(self) -> float:
        return float(self.feed.c[max(0, self.feed.bar - 1440)])

    # --- replay -----------------------------------------------------------------------------------------------
    async def step(self, points: int) -> int:
        """Advance the replay `points` path points (4 per bar), matching and publishing after each."""
        if self._step_lock is None:
            self._step_lock = asyncio.Lock()
        moved = 0
        async with self._step_lock:
            for _ in range(max(0, points)):
                seg = self.feed.step()
                if seg is None:
                    break
                self.engine.on_segment(seg)
                moved += 1
                await self._publish_market()
                await self.publish_events()
        if moved:
            self._dirty = True
        return moved

    async def _publish_market(self) -> None:
        hub = self.hub
        if not hub.conns:
            return
        for key in hub.keys("allMids:"):
            await hub.send(key, "allMids", {"mids": self.mids(key.split(":", 1)[1])})
        for key in hub.keys("l2Book:"):
            coin = key.split(":", 1)[1]
            if coin in self.universe.by_name:
                await hub.send(key, "l2Book", self.l2(coin))
        for key in hub.keys("candle:"):
            coin, interval = key.split(":", 1)[1].rsplit(",", 1)
            if coin in self.universe.by_name:
                rows = self.candles(coin, interval, None, None)
                if rows:
                    await hub.send(key, "candle", rows[-1])
        for key in hub.keys("trades:"):
            coin = key.split(":", 1)[1]
            if coin in self.universe.by_name:
                await hub.send(key, "trades", [self._tape_trade(coin)])

    def _tape_trade(self, coin: str) -> dict[str, Any]:
        """One synthetic market trade per replay step, so the trades channel is alive without user activity."""
        m = self.universe.by_name[coin]
        f = self.feed
        tid = f.bar * POINTS_PER_BAR + f.point
        up = f.point == 0 or f.price >= f.path(f.bar)[f.point - 1]
        sz = max(float(f.v[f.bar]) / POINTS_PER_BAR / m.scale, 10**-m.sz_decimals)
        return {
            "coin": coin,
            "side": "B" if up else "A",
            "px": fmt_px(self.engine.mark(coin), m),
            "sz": fmt_num(sz, m.sz_decimals),
            "hash": "0x" + format(tid, "064x"),
            "time": f.now_ms,
            "tid": tid,
            "users": ["0x0000000000000000000000000000000000000001", "0x0000000000000000000000000000000000000002"],
        }

    async def publish_events(self) -> None:
        """Push queued fills, order updates and trades to their WebSocket subscribers."""
        events, self.engine.events = self.engine.events, []
        if not events or not self.hub.conns:
            return
        fills: dict[str, list[Any]] = {}
        orders: dict[str, list[Any]] = {}
        trades: dict[str, list[Any]] = {}
        for kind, key, payload in events:
            target = {"fill": fills, "order": orders, "trade": trades}.get(kind)
            if target is not None:
                target.setdefault(key, []).append(payload)
        for user, rows in fills.items():
            await self.hub.send(f"userFills:{user}", "userFills", {"isSnapshot": False, "user": user, "fills": rows})
        for user, rows in orders.items():
            await self.hub.send(f"orderUpdates:{user}", "orderUpdates", rows)
        for coin, rows in trades.items():
            await self.hub.send(f"trades:{coin}", "trades", rows)

    async def on_subscribe(self, ws: web.WebSocketResponse, key: str) -> None:
        """Snapshot on subscribe: userFills (isSnapshot true), current mids, book and candle."""
        kind, arg = key.split(":", 1)
        msg: tuple[str, Any] | None = None
        if kind == "userFills":
            msg = ("userFills", {"isSnapshot": True, "user": arg, "fills": self.engine.fills.get(arg, [])[-2000:]})
        elif kind == "allMids":
            msg = ("allMids", {"mids": self.mids(arg)})
        elif kind == "l2Book" and arg in self.universe.by_name:
            msg = ("l2Book", self.l2(arg))
        elif kind == "candle":
            coin, interval = arg.rsplit(",", 1)
            rows = self.candles(coin, interval, None, None) if coin in self.universe.by_name else []
            if rows:
                msg = ("candle", rows[-1])
        if msg is not None:
            import json

            await ws.send_str(json.dumps({"channel": msg[0], "data": msg[1]}, separators=(",", ":")))

    def after_change(self) -> None:
        """Called after every state-changing request: mark dirty and push events without delaying the answer."""
        self._dirty = True
        if not self.engine.events:
            return
        if not self.hub.conns:
            self.engine.events.clear()
            return
        asyncio.get_running_loop().create_task(self.publish_events())

    # --- persistence ------------------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {
            "data_start_ms": self.data_start_ms,
            "data": self.cfg.data,
            "seed": self.cfg.seed,
            "feed": self.feed.position(),
            "engine": self.engine.to_json(),
            "nonces": self.nonces.to_json(),
        }

    def save(self) -> None:
        if self.cfg.state_path:
            save_state(self.cfg.state_path, self.snapshot())
            self._dirty = False

    # --- background tasks -------------------------------------------------------------------------------------
    async def _ticker(self) -> None:
        period = 60.0 / self.cfg.speed / POINTS_PER_BAR
        nxt = time.monotonic()
        while True:
            nxt += period
            await asyncio.sleep(max(0.0, nxt - time.monotonic()))
            await self.step(1)

    async def _saver(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.state_save_every_s)
            if self._dirty:
                self.save()

    async def _ws_dropper(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.faults.ws_drop_every)
            self.faults.counts["ws_drops"] += await self.hub.drop_all()

    async def _freezer(self) -> None:
        await asyncio.sleep(self.cfg.faults.freeze_after)
        self.feed.frozen = True
        log.warning("price feed frozen after %.1f s (fault injection)", self.cfg.faults.freeze_after)

    async def on_startup(self, _app: web.Application) -> None:
        self._step_lock = asyncio.Lock()
        coros = []
        if self.cfg.speed > 0:
            coros.append(self._ticker())
        if self.cfg.state_path:
            coros.append(self._saver())
        if self.cfg.faults.ws_drop_every > 0:
            coros.append(self._ws_dropper())
        if self.cfg.faults.freeze_after > 0:
            coros.append(self._freezer())
        self._tasks = [asyncio.create_task(c) for c in coros]

    async def on_shutdown(self, _app: web.Application) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await self.hub.close_all()
        self.save()


def _start_ms(history_bars: int) -> int:
    """Synthetic data starts `history_bars` minutes before now, so the replay clock starts near wall time."""
    now = int(time.time() * 1000) // 60_000 * 60_000
    return now - history_bars * 60_000


def _freeze_startup_heap() -> None:
    """Move everything allocated at startup (replayed bars, pandas, numpy, imports) out of the collector's reach.

    A full (generation 2) collection otherwise walks that whole heap (~176k objects, 50-370 ms here) mid-request.
    Process-wide, so only the foreground server (`serve`) does it, never a server embedded in another process.
    """
    gc.collect()
    gc.freeze()


def build_app(px: PaperExchange) -> web.Application:
    """The aiohttp application: /info, /exchange, /ws and loopback-only /admin/*."""
    app = web.Application(middlewares=[make_fault_middleware(px)], client_max_size=4 * 1024 * 1024)
    app.add_routes([*px.http.routes(), web.get("/ws", px.hub.handler)])
    app.on_startup.append(px.on_startup)
    app.on_shutdown.append(px.on_shutdown)
    return app


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


async def _start(px: PaperExchange) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(build_app(px), access_log=None, handle_signals=False)
    await runner.setup()
    sock = _bind(px.cfg.host, px.cfg.port)
    await web.SockSite(runner, sock).start()
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return runner, f"http://{shown}:{port}"


@dataclass
class ServerHandle:
    """A server running on a background thread: `.url`, `.exchange`, `.step(points)`, `.stop()`."""

    url: str
    exchange: PaperExchange
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    _stop: asyncio.Event

    def call(self, coro: Any, timeout: float = 30.0) -> Any:
        """Run a coroutine on the server's loop and wait for its result (thread-safe)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def step(self, points: int = 1) -> int:
        """Advance the replay deterministically by `points` path points (4 per bar)."""
        return self.call(self.exchange.step(points))

    def stop(self) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self._stop.set)
            self.thread.join(15)


def start_in_thread(cfg: PaperExchangeConfig, bars: pd.DataFrame | None = None) -> ServerHandle:
    """Start a server on its own thread and event loop; returns when it accepts connections."""
    px = PaperExchange(cfg, bars)
    ready = threading.Event()
    box: dict[str, Any] = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        stop = asyncio.Event()
        box["loop"], box["stop"] = loop, stop

        async def main() -> None:
            try:
                runner, url = await _start(px)
            except BaseException as exc:
                box["error"] = exc
                ready.set()
                return
            box["url"] = url
            ready.set()
            await stop.wait()
            await runner.cleanup()

        loop.run_until_complete(main())
        loop.close()

    thread = threading.Thread(target=run, name="paper-exchange", daemon=True)
    thread.start()
    ready.wait(30)
    if "error" in box:
        raise box["error"]
    return ServerHandle(box["url"], px, box["loop"], thread, box["stop"])


async def serve(cfg: PaperExchangeConfig, bars: pd.DataFrame | None = None) -> None:
    """Run in the foreground until cancelled (Ctrl-C); prints the URL and the data source."""
    px = PaperExchange(cfg, bars)
    runner, url = await _start(px)
    _freeze_startup_heap()
    print(f"paper exchange listening on {url} (ws {url.replace('http', 'ws', 1)}/ws)", flush=True)
    pace = f"one 1m bar every {60 / cfg.speed:.3g} s" if cfg.speed > 0 else "manual (POST /admin/step)"
    print(f"prices: {px.data_description}; replay speed {cfg.speed:g}: {pace}", flush=True)
    print(f"markets: {', '.join(m.name for m in px.universe.markets())}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
