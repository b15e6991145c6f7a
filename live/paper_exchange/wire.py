"""The wire: every JSON shape the paper exchange reads or writes, and nothing else.

In: request bodies are parsed the way HyperLiquid's serde does it, all or nothing. JSON with NaN/Infinity literals,
numbers that overflow a float, nesting too deep to parse, a missing or mistyped field anywhere in an action, an
unknown enum value, a malformed address or cloid: `WireError` (HTTP 422, nothing changes, no nonce is used). What
passes becomes domain objects (`orders.py`), so the engine never sees JSON. Rules that depend on the market or the
account (tick, lot, margin, reduce-only, ...) are the engine's and are answered per element.

Out: `shapes.py` turns the engine's objects into the real API's shapes.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from live.paper_exchange.orders import (
    GROUPINGS,
    TIFS,
    Action,
    ApproveAgent,
    BatchModify,
    Cancel,
    CancelRequest,
    ModifyRequest,
    OrderRequest,
    PlaceOrders,
    UpdateLeverage,
)
from live.paper_exchange.prices import INTERVAL_MS

if TYPE_CHECKING:
    pass

BAD_JSON = "Failed to deserialize the JSON body into the target type"
MAX_U32 = 2**32 - 1
MAX_U64 = 2**64 - 1
MAX_NUMBER_CHARS = 64
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_CLOID = re.compile(r"0x[0-9a-fA-F]{32}")
_HEX = re.compile(r"(0x)?[0-9a-fA-F]{1,64}")
_NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")

# HyperLiquid action types the paper exchange does not implement: answered {"status": "err"}, never 422.
UNSUPPORTED_ACTIONS = frozenset(
    {
        "modify", "scheduleCancel", "updateIsolatedMargin", "topUpIsolatedOnlyMargin", "usdSend", "spotSend",
        "withdraw3", "usdClassTransfer", "sendAsset", "vaultTransfer", "createSubAccount", "subAccountTransfer",
        "subAccountSpotTransfer", "setReferrer", "approveBuilderFee", "twapOrder", "twapCancel", "tokenDelegate",
        "convertToMultiSigUser", "multiSig", "createVault", "noop", "evmUserModify", "setDisplayName",
        "reserveRequestWeight", "cDeposit", "cWithdraw", "spotUser", "perpDeploy", "spotDeploy",
    }
)  # fmt: skip
USER_ACTIONS = frozenset({"approveAgent"})  # user-signed (EIP-712 HyperliquidTransaction:*), not L1


class WireError(ValueError):
    """The body does not have the shape the endpoint takes: HTTP 422 with `BAD_JSON`, and nothing changes."""


class UnsupportedAction(Exception):
    """A real HyperLiquid action type the paper exchange does not implement."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


# --- parsing primitives -------------------------------------------------------------------------------------------
def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    x = float(text)
    if not math.isfinite(x):
        raise ValueError(f"number {text[:20]}... does not fit a 64-bit float")
    return x


def loads(raw: bytes | str) -> Any:
    """JSON as serde_json reads it: no NaN/Infinity, no float overflow (1e400), bounded nesting."""
    try:
        return json.loads(raw, parse_constant=_no_constant, parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise WireError(str(exc)[:200]) from None


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), allow_nan=False).encode()


def _obj(x: Any, what: str) -> dict[str, Any]:
    if not isinstance(x, dict):
        raise WireError(f"{what}: expected an object")
    return x


def _list(x: Any, what: str) -> list[Any]:
    if not isinstance(x, list):
        raise WireError(f"{what}: expected an array")
    return x


def uint(x: Any, what: str, hi: int = MAX_U64) -> int:
    if not isinstance(x, int) or isinstance(x, bool) or not 0 <= x <= hi:
        raise WireError(f"{what}: expected an unsigned integer <= {hi}")
    return x


def _opt_uint(x: Any, what: str) -> int | None:
    return None if x is None else uint(x, what)


def boolean(x: Any, what: str) -> bool:
    if not isinstance(x, bool):
        raise WireError(f"{what}: expected true or false")
    return x


def _str(x: Any, what: str) -> str:
    if not isinstance(x, str):
        raise WireError(f"{what}: expected a string")
    return x


def address(x: Any, what: str = "address") -> str:
    """A 0x + 40 hex address, lower-cased."""
    if not isinstance(x, str) or not _ADDRESS.fullmatch(x):
        raise WireError(f"{what}: expected 0x + 40 hex digits")
    return x.lower()


def cloid(x: Any, what: str = "cloid") -> str:
    """A client order id: 0x + 32 hex digits, lower-cased."""
    if not isinstance(x, str) or not _CLOID.fullmatch(x):
        raise WireError(f"{what}: expected 0x + 32 hex digits")
    return x.lower()


def decimal(x: Any, what: str) -> Decimal:
    """A decimal string ("97000.5") whose value fits a 64-bit float; anything else is refused at the door."""
    if not isinstance(x, str) or len(x) > MAX_NUMBER_CHARS or not _NUMBER.fullmatch(x):
        raise WireError(f"{what}: expected a decimal string of at most {MAX_NUMBER_CHARS} characters")
    try:
        d = Decimal(x)
    except InvalidOperation:
        raise WireError(f"{what}: not a number") from None
    if not math.isfinite(float(d)):
        raise WireError(f"{what}: {x[:20]}... is not a finite 64-bit number")
    return d


# --- /exchange ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Envelope:
    """A parsed /exchange body: the action as received (hashed as is) and as domain object."""

    raw_action: dict[str, Any]
    action: Action
    nonce: int
    signature: dict[str, Any]
    vault: str | None
    expires_after: int | None

    @property
    def user_signed(self) -> bool:
        return isinstance(self.action, ApproveAgent)


def parse_exchange(body: Any) -> Envelope:
    """The whole /exchange body, checked before anything is done with it."""
    body = _obj(body, "body")
    raw = _obj(body.get("action"), "action")
    nonce = uint(body.get("nonce"), "nonce")
    sig = _obj(body.get("signature"), "signature")
    for k in ("r", "s"):
        if not isinstance(sig.get(k), str) or not _HEX.fullmatch(sig[k]):
            raise WireError(f"signature.{k}: expected a hex string")
    uint(sig.get("v"), "signature.v", 255)
    vault = body.get("vaultAddress")
    vault = None if vault is None else address(vault, "vaultAddress")
    expires = _opt_uint(body.get("expiresAfter"), "expiresAfter")
    return Envelope(raw, parse_action(raw), nonce, sig, vault, expires)


def parse_action(a: dict[str, Any]) -> Action:
    """A domain action from a raw action object (also used to replay the journal)."""
    kind = a.get("type")
    if kind == "order":
        orders = tuple(order_request(w, f"orders[{i}]") for i, w in enumerate(_list(a.get("orders"), "orders")))
        grouping = a.get("grouping")
        if grouping not in GROUPINGS:
            raise WireError(f"grouping: expected one of {GROUPINGS}")
        if "builder" in a:
            b = _obj(a["builder"], "builder")
            address(b.get("b"), "builder.b")
            uint(b.get("f"), "builder.f")
        return PlaceOrders(orders, grouping)
    if kind == "cancel":
        return Cancel(
            tuple(
                CancelRequest(uint(c.get("a"), f"cancels[{i}].a", MAX_U32), oid=uint(c.get("o"), f"cancels[{i}].o"))
                for i, c in enumerate(_objs(a.get("cancels"), "cancels"))
            )
        )
    if kind == "cancelByCloid":
        return Cancel(
            tuple(
                CancelRequest(uint(c.get("asset"), f"cancels[{i}].asset", MAX_U32), cloid=cloid(c.get("cloid")))
                for i, c in enumerate(_objs(a.get("cancels"), "cancels"))
            )
        )
    if kind == "batchModify":
        mods = []
        for i, m in enumerate(_objs(a.get("modifies"), "modifies")):
            oid = m.get("oid")
            ref: int | str = cloid(oid) if isinstance(oid, str) else uint(oid, f"modifies[{i}].oid")
            mods.append(ModifyRequest(ref, order_request(m.get("order"), f"modifies[{i}].order")))
        return BatchModify(tuple(mods))
    if kind == "updateLeverage":
        asset = uint(a.get("asset"), "asset", MAX_U32)
        return UpdateLeverage(asset, boolean(a.get("isCross"), "isCross"), uint(a.get("leverage"), "leverage", MAX_U32))
    if kind == "approveAgent":
        chain_id = a.get("signatureChainId")
        if not isinstance(chain_id, str) or not _HEX.fullmatch(chain_id) or not chain_id.startswith("0x"):
            raise WireError("signatureChainId: expected a 0x hex string")
        name = a.get("agentName", "")
        return ApproveAgent(
            agent=address(a.get("agentAddress"), "agentAddress"),
            name=_str(name, "agentName"),
            chain=_str(a.get("hyperliquidChain"), "hyperliquidChain"),
            chain_id=int(chain_id, 16),
            nonce=uint(a.get("nonce"), "nonce"),
        )
    if isinstance(kind, str) and kind in UNSUPPORTED_ACTIONS:
        raise UnsupportedAction(kind)
    raise WireError(f"unknown action type {str(kind)[:40]!r}")


def _objs(x: Any, what: str) -> list[dict[str, Any]]:
    return [_obj(v, f"{what}[{i}]") for i, v in enumerate(_list(x, what))]


def order_request(w: Any, what: str = "order") -> OrderRequest:
    """One order wire {a, b, p, s, r, t, c?}."""
    w = _obj(w, what)
    t = _obj(w.get("t"), f"{what}.t")
    c = w.get("c")
    common = {
        "asset": uint(w.get("a"), f"{what}.a", MAX_U32),
        "is_buy": boolean(w.get("b"), f"{what}.b"),
        "px": decimal(w.get("p"), f"{what}.p"),
        "sz": decimal(w.get("s"), f"{what}.s"),
        "reduce_only": boolean(w.get("r"), f"{what}.r"),
        "cloid": None if c is None else cloid(c, f"{what}.c"),
    }
    if set(t) == {"limit"}:
        tif = _obj(t["limit"], f"{what}.t.limit").get("tif")
        if tif not in TIFS:
            raise WireError(f"{what}.t.limit.tif: expected one of {TIFS}")
        return OrderRequest(**common, tif=tif)
    if set(t) == {"trigger"}:
        trig = _obj(t["trigger"], f"{what}.t.trigger")
        tpsl = trig.get("tpsl")
        if tpsl not in ("tp", "sl"):
            raise WireError(f"{what}.t.trigger.tpsl: expected 'tp' or 'sl'")
        return OrderRequest(
            **common,
            trigger_px=decimal(trig.get("triggerPx"), f"{what}.t.trigger.triggerPx"),
            is_market=boolean(trig.get("isMarket"), f"{what}.t.trigger.isMarket"),
            tpsl=tpsl,
        )
    raise WireError(f"{what}.t: expected {{'limit': ...}} or {{'trigger': ...}}")


# --- /info ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class InfoQuery:
    kind: str
    dex: str = ""
    user: str = ""
    coin: str = ""
    interval: str = ""
    start_ms: int | None = None
    end_ms: int | None = None
    oid: int | str | None = None


_DEX_ONLY = frozenset({"meta", "spotMeta", "perpDexs", "metaAndAssetCtxs", "allMids"})
_USER = frozenset(
    {"clearinghouseState", "openOrders", "frontendOpenOrders", "userFills", "extraAgents", "userRole", "userFees"}
)


def parse_info(body: Any) -> InfoQuery:
    body = _obj(body, "body")
    kind = _str(body.get("type"), "type")
    dex = body.get("dex")
    dex = "" if dex is None else _str(dex, "dex")
    if kind in _DEX_ONLY:
        return InfoQuery(kind, dex)
    if kind in _USER:
        return InfoQuery(kind, dex, user=address(body.get("user"), "user"))
    if kind == "candleSnapshot":
        req = _obj(body.get("req"), "req")
        return InfoQuery(
            kind,
            coin=_str(req.get("coin"), "req.coin"),
            interval=_str(req.get("interval"), "req.interval"),
            start_ms=uint(req.get("startTime"), "req.startTime"),
            end_ms=_opt_uint(req.get("endTime"), "req.endTime"),
        )
    if kind == "l2Book":
        return InfoQuery(kind, coin=_str(body.get("coin"), "coin"))
    if kind == "userFillsByTime":
        if body.get("aggregateByTime") is not None:
            boolean(body["aggregateByTime"], "aggregateByTime")
        return InfoQuery(
            kind,
            user=address(body.get("user"), "user"),
            start_ms=uint(body.get("startTime"), "startTime"),
            end_ms=_opt_uint(body.get("endTime"), "endTime"),
        )
    if kind == "orderStatus":
        oid = body.get("oid")
        ref: int | str = cloid(oid, "oid") if isinstance(oid, str) else uint(oid, "oid")
        return InfoQuery(kind, user=address(body.get("user"), "user"), oid=ref)
    raise WireError(f"unknown info type {kind[:40]!r}")


# --- WebSocket in ---------------------------------------------------------------------------------------------------
USER_CHANNELS = ("userFills", "orderUpdates", "userEvents")


def subscription_key(sub: Any) -> str | None:
    """Routing key of a subscription; None when it is malformed or not a channel the paper exchange serves."""
    if not isinstance(sub, dict):
        return None
    kind = sub.get("type")
    if kind == "allMids":
        dex = sub.get("dex")
        return f"allMids:{dex or ''}" if dex is None or isinstance(dex, str) else None
    if kind in ("l2Book", "trades") and isinstance(sub.get("coin"), str):
        return f"{kind}:{sub['coin']}"
    if kind == "candle" and isinstance(sub.get("coin"), str) and sub.get("interval") in INTERVAL_MS:
        return f"candle:{sub['coin']},{sub['interval']}"
    if kind in USER_CHANNELS:
        try:
            return f"{kind}:{address(sub.get('user'))}"
        except WireError:
            return None
    return None
