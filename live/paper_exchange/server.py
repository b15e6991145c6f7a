"""Composition root: builds the exchange from its parts, runs the replay clock and serves HTTP + WebSocket.

`start_in_thread(config)` runs a server on its own event loop thread for tests and benchmarks; `serve(config)`
runs one in the foreground for the CLI. With a state path, every accepted input goes through the write-ahead
journal (`journal.py`) before it is acknowledged, and a restart replays it on top of the last snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd
from aiohttp import web

from live.paper_exchange import shapes, wire
from live.paper_exchange.config import PaperExchangeConfig
from live.paper_exchange.engine import Engine
from live.paper_exchange.faults import FaultInjector
from live.paper_exchange.http_api import HttpApi, journal_middleware, make_fault_middleware
from live.paper_exchange.invariants import problems as invariant_problems
from live.paper_exchange.journal import Journal, JournalError, journal_path, read_journal
from live.paper_exchange.markets import Market, Universe
from live.paper_exchange.orders import Agent, Order
from live.paper_exchange.prices import POINTS_PER_BAR, PriceFeed, load_bars, validated_bars
from live.paper_exchange.signing import NonceTracker
from live.paper_exchange.state import check_state_path, load_state, state_text
from live.paper_exchange.ws_api import WsHub

log = logging.getLogger("paper_exchange")
SHUTDOWN_TIMEOUT_S = 2.0  # in-flight requests get this long to finish (and be journaled) at shutdown


class PaperExchange:
    """One exchange instance: feed, universe, engine, signature checks, faults, WebSocket hub, journal."""

    def __init__(self, cfg: PaperExchangeConfig, bars: pd.DataFrame | None = None) -> None:
        self.cfg = cfg
        self.cfg_is_mainnet = False  # the SDK signs with source "b" for every URL but mainnet's
        self.journal: Journal | None = None
        if cfg.state_path:
            check_state_path(cfg.state_path)
            self.journal = Journal(
                cfg.state_path,
                self.snapshot_text,
                0,
                fsync=cfg.journal_fsync,
                snapshot_every_s=cfg.state_save_every_s,
                snapshot_every_entries=cfg.snapshot_every_entries,
            )  # takes the state's lock first: nothing below may race another server on the same files
        try:
            self._build(cfg, bars)
        except BaseException:
            if self.journal is not None:
                self.journal.release_lock()
            raise

    def _build(self, cfg: PaperExchangeConfig, bars: pd.DataFrame | None) -> None:
        saved = load_state(cfg.state_path) if cfg.state_path else None
        entries = read_journal(journal_path(cfg.state_path)) if cfg.state_path else []
        if bars is None:
            start_ms = saved["data_start_ms"] if saved else _start_ms(cfg.history_bars)
            bars, self.data_description = load_bars(
                cfg.data, cfg.n_bars, cfg.seed, pd.Timestamp(start_ms, unit="ms", tz="UTC")
            )
        else:
            bars = validated_bars(bars, "injected bars")
            self.data_description = f"injected bars ({len(bars)} rows)"
        self.feed = PriceFeed(bars, cfg.history_bars, cfg.candle_limit)
        self.data_start_ms = int(self.feed.t_ms[0])
        self.universe = Universe(cfg.markets, self.feed.first_open)
        self.faults = FaultInjector(cfg.faults)
        self.engine = Engine(cfg, self.universe, self.feed, self.faults.reject_rng)
        self.nonces = NonceTracker()
        self.hub = WsHub(self)
        self.http = HttpApi(self)
        self.invariant_violations: list[str] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self._step_lock: asyncio.Lock | None = None
        seq = 0
        if saved:
            self.feed.restore(saved["feed"])
            self.engine.load_json(saved["engine"])
            self.nonces.load_json(saved.get("nonces", {}))
            rng = saved.get("reject_rng")
            if rng is not None:
                self.faults.reject_rng.setstate((rng[0], tuple(rng[1]), rng[2]))
            seq = int(saved.get("seq", 0))
        self.replayed = self._replay(entries, seq)
        seq = max([seq, *(e["q"] for e in entries)]) if entries else seq
        for address, usd in cfg.fund:
            if address.lower() not in self.engine.accounts:
                self.engine.fund(address, usd)
        self.engine.take_events()  # funding and replay leave nothing to publish: no one is connected yet
        if self.journal is not None:
            self.journal.seq = self.journal.durable = seq
            self.journal.checkpoint_now()  # start from one snapshot and an empty journal

    def _replay(self, entries: list[dict[str, Any]], after: int) -> int:
        """Re-apply journal entries newer than the snapshot, in order; returns how many."""
        n, last = 0, after
        for e in entries:
            q = e["q"]
            if q <= after:
                continue
            if q != last + 1:
                raise JournalError(f"journal entries jump from {last} to {q}: the journal does not fit the state file")
            kind = e.get("k")
            try:
                if kind == "x":
                    self.nonces.record(e["g"], e["n"])
                    self.engine.act(e["u"], wire.parse_action(e["a"]))
                elif kind == "s":
                    seg = self.feed.step(force=True)
                    if seg is not None:
                        self.engine.on_segment(seg)
                elif kind == "f":
                    self.engine.fund(e["a"], e["usd"])
                elif kind == "z":
                    self.feed.frozen = bool(e["on"])
            except Exception:  # the live run raised at the same point; keep the same partial effect and go on
                log.exception("journal entry %d raised on replay (it raised when first applied too)", q)
            last, n = q, n + 1
        return n

    # --- inputs (every state change goes through here, journaled first) --------------------------------------
    def apply_action(self, user: str, signer: str, env: wire.Envelope) -> Any:
        """Apply an accepted, signature- and nonce-checked action; the caller awaits `durable()` before answering."""
        if self.journal is not None:
            self.journal.append({"k": "x", "u": user, "g": signer, "n": env.nonce, "a": env.raw_action})
        result = self.engine.act(user, env.action)
        self.after_change()
        return result

    def fund(self, address: str, usd: float) -> Any:
        if self.journal is not None:
            self.journal.append({"k": "f", "a": address, "usd": usd})
        acct = self.engine.fund(address, usd)
        self.after_change()
        return acct

    def freeze(self, frozen: bool) -> None:
        if self.journal is not None:
            self.journal.append({"k": "z", "on": frozen})
        self.feed.frozen = frozen

    async def durable(self) -> None:
        if self.journal is not None:
            await self.journal.durable_after()

    def journal_status(self) -> dict[str, Any] | None:
        j = self.journal
        if j is None:
            return None
        return {"path": str(j.path), "seq": j.seq, "durable": j.durable, "snapshots": j.snapshots}

    # --- views ------------------------------------------------------------------------------------------------
    def mids(self, dex: str) -> dict[str, str]:
        return shapes.mids(self.universe.per_dex.get(dex, []), self.engine.marks())

    def l2(self, coin: str) -> dict[str, Any]:
        m = self.universe.by_name[coin]
        return shapes.l2(coin, m, self.engine.book(m), self.feed.now_ms)

    def candles(self, coin: str, interval: str, start_ms: int | None, end_ms: int | None) -> list[dict[str, Any]]:
        m = self.universe.by_name[coin]
        return shapes.candles(coin, interval, m, self.feed.candles(interval, start_ms, end_ms))

    def asset_ctx(self, m: Market) -> dict[str, Any]:
        day_ago = float(self.feed.c[max(0, self.feed.bar - 1440)]) * m.scale
        mark = self.engine.mark(m.name)
        return shapes.asset_ctx(m, mark, self.engine.book(m), day_ago, self.cfg.funding_rate_hourly)

    def _children(self, o: Order) -> list[Order]:
        return [self.engine.orders[c] for c in o.children if c in self.engine.orders]

    def open_orders(self, user: str, dex: str, frontend: bool) -> list[dict[str, Any]]:
        out = []
        for o in self.engine.open_orders.get(user, {}).values():
            m = self.universe.by_name[o.coin]
            if m.dex == dex and o.parent is None and o.status == "open":
                out.append(shapes.order_view(o, m, frontend, self._children(o) if frontend else ()))
        return out

    def order_status(self, user: str, ref: int | str | None) -> dict[str, Any]:
        o = self.engine.order_by_ref(user, ref)
        if o is None:
            return shapes.order_status(None, None)
        return shapes.order_status(o, self.universe.by_name[o.coin], self._children(o))

    def agents_of(self, master: str) -> list[Agent]:
        return [a for a in self.engine.agents.values() if a.master == master]

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
                if self.journal is not None:
                    self.journal.append({"k": "s"})
                self.engine.on_segment(seg)
                self._check()
                moved += 1
                await self.hub.publish_market()
                await self.hub.publish_events()
        return moved

    def after_change(self) -> None:
        """Called after every state-changing request: check invariants (tests) and push events once durable."""
        self._check()
        if not self.engine.has_events:
            return
        if not self.hub.conns:
            self.engine.take_events()  # no one to tell
            return
        asyncio.get_running_loop().create_task(self.hub.publish_events())

    def _check(self) -> None:
        if self.cfg.check_invariants:
            found = invariant_problems(self.engine)
            if found:
                log.error("invariant broken: %s", "; ".join(found))
                self.invariant_violations.extend(found)

    # --- persistence ------------------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        rng = self.faults.reject_rng.getstate()
        return {
            "seq": self.journal.seq if self.journal is not None else 0,
            "data_start_ms": self.data_start_ms,
            "data": self.cfg.data,
            "seed": self.cfg.seed,
            "feed": self.feed.position(),
            "engine": self.engine.to_json(),
            "nonces": self.nonces.to_json(),
            "reject_rng": [rng[0], list(rng[1]), rng[2]],
        }

    def snapshot_text(self) -> str:
        return state_text(self.snapshot())

    # --- background tasks -------------------------------------------------------------------------------------
    async def _ticker(self) -> None:
        period = 60.0 / self.cfg.speed / POINTS_PER_BAR
        nxt = time.monotonic()
        while True:
            nxt += period
            await asyncio.sleep(max(0.0, nxt - time.monotonic()))
            try:
                await self.step(1)
            except JournalError:
                log.error("replay clock stopped: the journal cannot be written")
                return

    async def _ws_dropper(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.faults.ws_drop_every)
            self.faults.counts["ws_drops"] += await self.hub.drop_all()

    async def _freezer(self) -> None:
        await asyncio.sleep(self.cfg.faults.freeze_after)
        self.freeze(True)
        log.warning("price feed frozen after %.1f s (fault injection)", self.cfg.faults.freeze_after)

    async def on_startup(self, _app: web.Application) -> None:
        self._step_lock = asyncio.Lock()
        if self.journal is not None:
            self.journal.start()
        coros = []
        if self.cfg.speed > 0:
            coros.append(self._ticker())
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
        await self.close()

    async def close(self) -> None:
        """Final snapshot, empty journal, lock released (idempotent)."""
        if self.journal is not None:
            await self.journal.close()
            self.journal = None


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
    app = web.Application(middlewares=[journal_middleware, make_fault_middleware(px)], client_max_size=4 * 1024 * 1024)
    app.add_routes([*px.http.routes(), web.get("/ws", px.hub.handler)])
    app.on_startup.append(px.on_startup)
    app.on_shutdown.append(px.on_shutdown)
    return app


class ListenError(OSError):
    """The server cannot listen where it was asked to (port in use, address not local, no permission)."""


def _bind(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ListenError(f"cannot listen on {host}:{port}: unknown host ({exc.strerror})") from None
    family = infos[0][0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # rebind at once after a kill; a live listener wins
    try:
        sock.bind((host, port))
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        why = {errno.EADDRINUSE: "the port is already in use", errno.EACCES: "permission denied"}.get(
            exc.errno or 0, exc.strerror or str(exc)
        )
        raise ListenError(f"cannot listen on {host}:{port}: {why}") from None
    sock.setblocking(False)
    return sock


async def _start(px: PaperExchange) -> tuple[web.AppRunner, str]:
    sock = _bind(px.cfg.host, px.cfg.port)  # before the app starts: a busy port must not start the journal
    runner = web.AppRunner(build_app(px), access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
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
        """Advance the replay deterministically by `points` path points (4 per bar); returns once journaled."""

        async def run() -> int:
            moved = await self.exchange.step(points)
            await self.exchange.durable()
            return moved

        return self.call(run())

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
                await px.close()
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
    try:
        runner, url = await _start(px)
    except BaseException:
        await px.close()
        raise
    _freeze_startup_heap()
    print(f"paper exchange listening on {url} (ws {url.replace('http', 'ws', 1)}/ws)", flush=True)
    pace = f"one 1m bar every {60 / cfg.speed:.3g} s" if cfg.speed > 0 else "manual (POST /admin/step)"
    print(f"prices: {px.data_description}; replay speed {cfg.speed:g}: {pace}", flush=True)
    print(f"markets: {', '.join(m.name for m in px.universe.markets())}", flush=True)
    if px.journal is not None:
        print(f"state: {cfg.state_path} + journal {px.journal.path} ({px.replayed} entries replayed)", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
