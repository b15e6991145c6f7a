"""HTTP adapter: POST /info, POST /exchange, loopback-only /admin/*.

Each request is parsed whole by `wire.py` before anything happens (422 and no side effect when it does not parse),
then checked in the real API's order: signature, signer (a funded account or an approved agent), vault, expiry,
nonce. An accepted action is journaled, applied by the engine and acknowledged only once its journal entry is on
disk (`journal.py`).
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from backtest.venue.limits import FILLS_PER_RESPONSE
from live.paper_exchange import shapes, wire
from live.paper_exchange.journal import JournalError
from live.paper_exchange.markets import fmt_num
from live.paper_exchange.orders import ApproveAgent, BatchModify, Cancel, PlaceOrders
from live.paper_exchange.prices import INTERVAL_MS
from live.paper_exchange.signing import (
    SignatureError,
    action_hash,
    agent_digest,
    approve_agent_digest,
    recover_signer,
)
from live.paper_exchange.wire import BAD_JSON, WireError

if TYPE_CHECKING:
    from live.paper_exchange.server import PaperExchange

__all__ = ["BAD_JSON", "HttpApi", "journal_middleware", "make_fault_middleware"]

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=wire.dumps(data), status=status, content_type="application/json")


def _unprocessable() -> web.Response:
    return web.Response(text=BAD_JSON, status=422, content_type="text/plain")


def make_fault_middleware(px: PaperExchange) -> Any:
    """500/429 at the configured seeded rates and added latency, on /info and /exchange only."""

    @web.middleware
    async def faults(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path not in ("/info", "/exchange"):
            return await handler(request)
        if px.faults.latency_s > 0:
            await asyncio.sleep(px.faults.latency_s)
        code = px.faults.http_fault()
        if code == 500:
            return web.Response(text="Internal Server Error", status=500, content_type="text/plain")
        if code == 429:
            return web.Response(text="Too Many Requests", status=429, content_type="text/plain")
        return await handler(request)

    return faults


@web.middleware
async def journal_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """A failed journal write (disk full, I/O error) stops all service with 503: nothing is acknowledged that is not
    on disk, and no answer is given from state that could not be made durable."""
    try:
        return await handler(request)
    except JournalError as exc:
        return web.Response(text=f"Service Unavailable: {exc}", status=503, content_type="text/plain")


class HttpApi:
    """Request handlers bound to one PaperExchange."""

    def __init__(self, px: PaperExchange) -> None:
        self.px = px

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/info", self.info),
            web.post("/exchange", self.exchange),
            web.post("/admin/fund", self.admin_fund),
            web.post("/admin/step", self.admin_step),
            web.post("/admin/freeze", self.admin_freeze),
            web.get("/admin/status", self.admin_status),
        ]

    # --- /info ------------------------------------------------------------------------------------------------
    async def info(self, request: web.Request) -> web.Response:
        try:
            q = wire.parse_info(wire.loads(await request.read()))
        except WireError:
            return _unprocessable()
        await self.px.durable()  # answer only from state whose inputs are on disk
        return _json(self._info(q))

    def _info(self, q: wire.InfoQuery) -> Any:
        px, eng, uni = self.px, self.px.engine, self.px.universe
        kind, dex, now = q.kind, q.dex, px.feed.now_ms
        if kind == "meta":
            return shapes.meta(uni, dex, px.cfg.growth_mode)
        if kind == "spotMeta":
            return shapes.SPOT_META
        if kind == "perpDexs":
            return shapes.perp_dexs(uni, px.cfg.xyz_deployer, px.cfg.deployer_fee_scale)
        if kind == "metaAndAssetCtxs":
            return [shapes.meta(uni, dex, px.cfg.growth_mode), [px.asset_ctx(m) for m in uni.per_dex.get(dex, [])]]
        if kind == "userFees":
            return shapes.user_fees(*eng.pricing.base_rates)  # the same rates every fill is charged from
        if kind == "allMids":
            return px.mids(dex)
        if kind == "candleSnapshot":
            if q.coin not in uni.by_name or q.interval not in INTERVAL_MS:
                return []
            return px.candles(q.coin, q.interval, q.start_ms, q.end_ms)
        if kind == "l2Book":
            return px.l2(q.coin) if q.coin in uni.by_name else None
        if kind == "clearinghouseState":
            return shapes.clearinghouse_state(eng.accounts.get(q.user), dex, uni.by_name, eng.marks(), now)
        if kind in ("openOrders", "frontendOpenOrders"):
            return px.open_orders(q.user, dex, frontend=kind == "frontendOpenOrders")
        if kind == "userFills":
            return shapes.fills(reversed(eng.fills.get(q.user, [])[-FILLS_PER_RESPONSE:]), uni)
        if kind == "userFillsByTime":
            start, end = q.start_ms or 0, q.end_ms
            rows = [f for f in eng.fills.get(q.user, []) if f.time >= start and (end is None or f.time <= end)]
            return shapes.fills(rows[:FILLS_PER_RESPONSE], uni)
        if kind == "orderStatus":
            return px.order_status(q.user, q.oid)
        if kind == "extraAgents":
            return shapes.extra_agents(px.agents_of(q.user))
        if kind == "userRole":
            if q.user in eng.accounts:
                return shapes.user_role("user")
            agent = eng.agents.get(q.user)
            return shapes.user_role("agent", agent.master) if agent else shapes.user_role("missing")
        raise WireError(kind)

    # --- /exchange --------------------------------------------------------------------------------------------
    async def exchange(self, request: web.Request) -> web.Response:
        px = self.px
        try:
            env = wire.parse_exchange(wire.loads(await request.read()))
            if isinstance(env.action, ApproveAgent):
                a = env.action
                digest = approve_agent_digest(a.chain, a.agent, a.name, a.nonce, a.chain_id)
            else:
                digest = agent_digest(action_hash(env.raw_action, env.vault, env.nonce, env.expires_after), False)
        except wire.UnsupportedAction as exc:
            return _json(shapes.err(f"Action type {exc.kind!r} is not supported by the paper exchange."))
        except (WireError, ValueError, OverflowError, TypeError, RecursionError):
            # ValueError/OverflowError/RecursionError: msgpack cannot hash an exotic unknown field (too deep, huge int)
            return _unprocessable()
        try:
            signer = recover_signer(digest, env.signature)
        except SignatureError:
            return _json(shapes.err("Invalid signature."))
        eng = px.engine
        if env.user_signed:
            if signer in eng.agents:
                return _json(
                    shapes.err(
                        f"API wallet {signer} cannot sign user actions (approveAgent, transfers, withdrawals); "
                        "sign them with the master account."
                    )
                )
            user = signer if signer in eng.accounts else None
        else:
            user = eng.account_for(signer)
        if user is None:
            return _json(shapes.err(f"User or API Wallet {signer} does not exist."))
        if env.vault is not None:
            return _json(shapes.err("Vault trading is not supported by the paper exchange."))
        now_ms = int(time.time() * 1000)
        if env.expires_after is not None and env.expires_after < now_ms:
            return _json(shapes.err(f"Action expired at {env.expires_after} (now {now_ms})."))
        if isinstance(env.action, ApproveAgent) and env.action.nonce != env.nonce:
            return _json(shapes.err(f"approveAgent: action nonce {env.action.nonce} differs from nonce {env.nonce}."))
        nonce_err = px.nonces.check_and_use(signer, env.nonce, now_ms)
        if nonce_err is not None:
            return _json(shapes.err(nonce_err))
        result = px.apply_action(user, signer, env)
        await px.durable()
        return _json(self._answer(env.action, result))

    def _answer(self, action: Any, result: Any) -> dict[str, Any]:
        uni = self.px.universe
        if isinstance(action, (PlaceOrders, BatchModify)):
            return shapes.ok("order", [shapes.outcome(o, uni) for o in result])
        if isinstance(action, Cancel):
            return shapes.ok("cancel", [shapes.outcome(o, uni) for o in result])
        return shapes.err(result) if result is not None else shapes.ok("default")

    # --- /admin (loopback only) -------------------------------------------------------------------------------
    @staticmethod
    def _loopback(request: web.Request) -> bool:
        return (request.remote or "") in LOOPBACK

    @staticmethod
    def _forbidden() -> web.Response:
        return web.Response(text="admin endpoints answer loopback clients only", status=403)

    async def admin_fund(self, request: web.Request) -> web.Response:
        if not self._loopback(request):
            return self._forbidden()
        try:
            body = wire.loads(await request.read())
            if not isinstance(body, dict):
                raise WireError("body")
            address = wire.address(body.get("address"))
            usd = body.get("usd")
            if isinstance(usd, bool) or not isinstance(usd, (int, float)) or not math.isfinite(usd) or usd < 0:
                raise WireError("usd: expected a finite number >= 0")
        except WireError:
            return _unprocessable()
        acct = self.px.fund(address, float(usd))
        await self.px.durable()
        return _json({"status": "ok", "address": acct.address, "balance": fmt_num(acct.balance)})

    async def admin_step(self, request: web.Request) -> web.Response:
        if not self._loopback(request):
            return self._forbidden()
        try:
            body = wire.loads(await request.read())
            if not isinstance(body, dict):
                raise WireError("body")
            points = wire.uint(body.get("points", 0), "points", 10**7)
            points += 4 * wire.uint(body.get("bars", 0), "bars", 10**6)
        except WireError:
            return _unprocessable()
        moved = await self.px.step(points)
        await self.px.durable()
        return _json({"status": "ok", "moved": moved, **self.px.feed.position(), "price": self.px.feed.price})

    async def admin_freeze(self, request: web.Request) -> web.Response:
        if not self._loopback(request):
            return self._forbidden()
        try:
            body = wire.loads(await request.read())
            if not isinstance(body, dict):
                raise WireError("body")
            frozen = wire.boolean(body.get("frozen"), "frozen")
        except WireError:
            return _unprocessable()
        self.px.freeze(frozen)
        await self.px.durable()
        return _json({"status": "ok", "frozen": frozen})

    async def admin_status(self, request: web.Request) -> web.Response:
        if not self._loopback(request):
            return self._forbidden()
        px = self.px
        return _json(
            {
                **px.feed.position(),
                "price": px.feed.price,
                "time": px.feed.now_ms,
                "accounts": len(px.engine.accounts),
                "agents": len(px.engine.agents),
                "backstop": sum(a.backstop for a in px.engine.accounts.values()),
                "faults": px.faults.counts,
                "journal": px.journal_status(),
                "data": px.data_description,
            }
        )
