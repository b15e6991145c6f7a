"""HTTP adapter: POST /info, POST /exchange, loopback-only /admin/*, with the real API's shapes and errors."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from live.paper_exchange.accounts import clearinghouse_state
from live.paper_exchange.markets import fmt_num, fmt_px
from live.paper_exchange.order_views import open_order_list, order_status
from live.paper_exchange.prices import INTERVAL_MS
from live.paper_exchange.signing import SignatureError, action_hash, agent_digest, recover_signer

if TYPE_CHECKING:
    from live.paper_exchange.server import PaperExchange

BAD_JSON = "Failed to deserialize the JSON body into the target type"
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class BadRequest(Exception):
    """The body parsed as JSON but does not have the shape the endpoint expects (422 like the real API)."""


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(data, separators=(",", ":")).encode(), status=status, content_type="application/json"
    )


def _unprocessable() -> web.Response:
    return web.Response(text=BAD_JSON, status=422, content_type="text/plain")


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest from exc


def _user(body: dict[str, Any]) -> str:
    user = body.get("user")
    if not isinstance(user, str) or not user.startswith("0x") or len(user) != 42:
        raise BadRequest
    return user.lower()


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
            body = await _body(request)
            if not isinstance(body, dict) or not isinstance(body.get("type"), str):
                raise BadRequest
            return _json(self._info(body))
        except (BadRequest, KeyError, TypeError, ValueError):
            return _unprocessable()

    def _info(self, body: dict[str, Any]) -> Any:
        px, eng, uni = self.px, self.px.engine, self.px.universe
        kind = body["type"]
        dex = body.get("dex") or ""
        if not isinstance(dex, str):
            raise BadRequest
        now = px.feed.now_ms
        if kind == "meta":
            return uni.meta(dex)
        if kind == "spotMeta":
            return {"universe": [], "tokens": []}
        if kind == "perpDexs":
            return uni.perp_dexs(px.cfg.xyz_deployer)
        if kind == "metaAndAssetCtxs":
            return [uni.meta(dex), [self._asset_ctx(m.name) for m in uni.per_dex.get(dex, [])]]
        if kind == "allMids":
            return px.mids(dex)
        if kind == "candleSnapshot":
            req = body["req"]
            coin, interval = req["coin"], req["interval"]
            if coin not in uni.by_name or interval not in INTERVAL_MS:
                return []
            return px.candles(coin, interval, int(req["startTime"]), req.get("endTime"))
        if kind == "l2Book":
            coin = body["coin"]
            return px.l2(coin) if coin in uni.by_name else None
        if kind == "clearinghouseState":
            user = _user(body)
            return clearinghouse_state(eng.accounts.get(user), dex, uni.by_name, eng.marks(), now)
        if kind == "openOrders":
            return open_order_list(eng, _user(body), dex, frontend=False)
        if kind == "frontendOpenOrders":
            return open_order_list(eng, _user(body), dex, frontend=True)
        if kind == "userFills":
            return list(reversed(eng.fills.get(_user(body), [])[-2000:]))
        if kind == "userFillsByTime":
            start = int(body["startTime"])
            end = body.get("endTime")
            end = int(end) if end is not None else None
            rows = [
                f for f in eng.fills.get(_user(body), []) if f["time"] >= start and (end is None or f["time"] <= end)
            ]
            return rows[:2000]
        if kind == "orderStatus":
            return order_status(eng, _user(body), body["oid"])
        raise BadRequest

    def _asset_ctx(self, coin: str) -> dict[str, Any]:
        m = self.px.universe.by_name[coin]
        mark = self.px.engine.mark(coin)
        bids, asks = self.px.engine.book(m)
        day_ago = self.px.day_ago_price() * m.scale
        return {
            "dayNtlVlm": "0.0",
            "funding": fmt_num(self.px.cfg.funding_rate_hourly, 10),
            "impactPxs": [fmt_px(bids[0][0], m), fmt_px(asks[0][0], m)],
            "markPx": fmt_px(mark, m),
            "midPx": fmt_px(mark, m),
            "openInterest": "0.0",
            "oraclePx": fmt_px(mark, m),
            "premium": "0.0",
            "prevDayPx": fmt_px(day_ago, m),
        }

    # --- /exchange --------------------------------------------------------------------------------------------
    async def exchange(self, request: web.Request) -> web.Response:
        try:
            body = await _body(request)
            if not isinstance(body, dict):
                raise BadRequest
            action, nonce, sig = body["action"], body["nonce"], body["signature"]
            vault, expires = body.get("vaultAddress"), body.get("expiresAfter")
            if not isinstance(action, dict) or not isinstance(nonce, int) or not isinstance(sig, dict):
                raise BadRequest
            if action.get("type") not in ("order", "cancel", "cancelByCloid", "batchModify", "updateLeverage"):
                raise BadRequest
            digest = agent_digest(action_hash(action, vault, nonce, expires), self.px.cfg_is_mainnet)
        except (BadRequest, KeyError, TypeError, ValueError, OverflowError):
            return _unprocessable()
        try:
            signer = recover_signer(digest, sig)
        except SignatureError:
            return _json({"status": "err", "response": "Invalid signature."})
        if signer not in self.px.engine.accounts:
            return _json({"status": "err", "response": f"User or API Wallet {signer} does not exist."})
        if vault is not None:
            return _json({"status": "err", "response": "Vault trading is not supported by the paper exchange."})
        now_ms = int(time.time() * 1000)
        if expires is not None and expires < now_ms:
            return _json({"status": "err", "response": f"Action expired at {expires} (now {now_ms})."})
        err = self.px.nonces.check_and_use(signer, nonce, now_ms)
        if err is not None:
            return _json({"status": "err", "response": err})
        try:
            out = self._act(signer, action)
        except (KeyError, TypeError, ValueError):
            return _unprocessable()
        finally:
            self.px.after_change()
        return _json(out)

    def _act(self, user: str, action: dict[str, Any]) -> Any:
        eng = self.px.engine
        kind = action["type"]
        if kind == "order":
            orders, grouping = action["orders"], action.get("grouping", "na")
            if not isinstance(orders, list) or grouping not in ("na", "normalTpsl", "positionTpsl"):
                raise ValueError
            statuses = eng.place(user, orders, grouping)
            return {"status": "ok", "response": {"type": "order", "data": {"statuses": statuses}}}
        if kind == "cancel":
            statuses = [eng.cancel(user, c["o"], c["a"]) for c in action["cancels"]]
            return {"status": "ok", "response": {"type": "cancel", "data": {"statuses": statuses}}}
        if kind == "cancelByCloid":
            statuses = [eng.cancel_by_cloid(user, c["cloid"], c["asset"]) for c in action["cancels"]]
            return {"status": "ok", "response": {"type": "cancel", "data": {"statuses": statuses}}}
        if kind == "batchModify":
            statuses = [eng.modify(user, m["oid"], m["order"]) for m in action["modifies"]]
            return {"status": "ok", "response": {"type": "order", "data": {"statuses": statuses}}}
        err = eng.update_leverage(user, action["asset"], action["isCross"], action["leverage"])
        if err is not None:
            return {"status": "err", "response": err}
        return {"status": "ok", "response": {"type": "default"}}

    # --- /admin (loopback only) -------------------------------------------------------------------------------
    @staticmethod
    def _loopback(request: web.Request) -> bool:
        return (request.remote or "") in LOOPBACK

    async def admin_fund(self, request: web.Request) -> web.Response:
        if not self._loopback(request):
            return web.Response(text="admin endpoints answer loopback clients only", status=403)
        try:
            body = await _body(request)
            address, usd = body["address"], float(body["usd"])
            if not isinstance(address, str) or len(address) != 42 or not address.startswith("0x"):
                raise BadRequest
        except (BadRequest, KeyError, TypeError, ValueError):
            return _unprocessable()
        acct = self.px.engine.fund(address, usd)
        self.px.after_change()
        return _json({"status": "ok", "address": acct.address, "balance": fmt_num(acct.balance)})

    async def admin_step(self, request: web.Request) -> web.Response:
        if not self._loopback(request):
            return web.Response(text="admin endpoints answer loopback clients only", status=403)
        try:
            body = await _body(request)
            points = int(body.get("points", 0)) + 4 * int(body.get("bars", 0))
        except (BadRequest, TypeError, ValueError, AttributeError):
            return _unprocessable()
        moved = await self.px.step(points)
        return _json({"status": "ok", "moved": moved, **self.px.feed.position(), "price": self.px.feed.price})

    async def admin_freeze(self, request: web.Request) -> web.Response:
        if not self._loopback(request):
            return web.Response(text="admin endpoints answer loopback clients only", status=403)
        try:
            body = await _body(request)
            frozen = bool(body["frozen"])
        except (BadRequest, KeyError, TypeError):
            return _unprocessable()
        self.px.feed.frozen = frozen
        return _json({"status": "ok", "frozen": frozen})

    async def admin_status(self, request: web.Request) -> web.Response:
        if not self._loopback(request):
            return web.Response(text="admin endpoints answer loopback clients only", status=403)
        return _json(
            {
                **self.px.feed.position(),
                "price": self.px.feed.price,
                "time": self.px.feed.now_ms,
                "accounts": len(self.px.engine.accounts),
                "faults": self.px.faults.counts,
                "data": self.px.data_description,
            }
        )
