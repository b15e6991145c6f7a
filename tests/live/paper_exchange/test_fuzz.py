"""Property-based fuzzing of /info, /exchange and /ws (hypothesis, derandomized and bounded to a few seconds).

Random JSON and mutations of valid requests (a key dropped, a value swapped for a random or hostile one, an element
duplicated) must never produce a 5xx, never break an invariant (the server checks them after every action and step),
and a refused request (422, or a whole-request error) must never change the state. Mutated actions are signed after
mutation, so they get past the signature check and reach the parser and the engine.
"""

from __future__ import annotations

import json
import math

import pytest
import requests
import websocket
from eth_account import Account
from hyperliquid.utils.signing import get_timestamp_ms, sign_l1_action
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.support.paper_exchange import random_walk_bars, start

ASSET, COIN = 110000, "xyz:XYZ100"
FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

hostile = st.sampled_from(
    [None, True, -1, 0, 2**32, 2**64, 10**30, -(10**30), 1e300, -0.0, 1.5, "", "NaN", "inf", "-1", "1e400",
     "1" + "0" * 300, "0x", "0x" + "g" * 32, [], {}, [[[]]], {"limit": {}}, "0x" + "00" * 16, "0x" + "ab" * 20]
)  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12) | hostile,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


@pytest.fixture(scope="module")
def rig():
    wallet = Account.create()
    h = start(random_walk_bars(3000, seed=11), fund=((wallet.address.lower(), 50_000.0),), history_bars=200)
    nonce = [get_timestamp_ms()]

    def next_nonce() -> int:
        nonce[0] += 1
        return nonce[0]

    yield h, wallet, next_nonce
    h.stop()
    assert h.exchange.invariant_violations == []


def fingerprint(h) -> tuple[str, str]:
    snap = h.exchange.snapshot()
    snap.pop("seq")
    nonces = json.dumps(snap.pop("nonces"), sort_keys=True)
    return json.dumps(snap, sort_keys=True), nonces


def _px(mid: float, k: float) -> str:
    return f"{mid * k:.5g}" if mid * k < 1e5 else str(round(mid * k))


def valid_actions(mid: float, oids: list[int], tag: int) -> list[dict]:
    px_lo, px_hi = _px(mid, 0.97), _px(mid, 1.03)
    order = {"a": ASSET, "b": True, "p": px_lo, "s": "0.01", "r": False, "t": {"limit": {"tif": "Gtc"}}}
    ioc = {"a": ASSET, "b": False, "p": _px(mid, 0.95), "s": "0.02", "r": False, "t": {"limit": {"tif": "Ioc"}},
           "c": f"0x{tag:032x}"}  # fmt: skip
    tp = {"a": ASSET, "b": False, "p": _px(mid, 0.9), "s": "0.01", "r": True,
          "t": {"trigger": {"isMarket": True, "triggerPx": px_hi, "tpsl": "tp"}}}  # fmt: skip
    sl = {**tp, "t": {"trigger": {"isMarket": True, "triggerPx": px_lo, "tpsl": "sl"}}}
    oid = oids[-1] if oids else 1000
    return [
        {"type": "order", "orders": [order], "grouping": "na"},
        {"type": "order", "orders": [ioc], "grouping": "na"},
        {"type": "order", "orders": [{**order, "p": px_hi}, tp, sl], "grouping": "normalTpsl"},
        {"type": "order", "orders": [tp, sl], "grouping": "positionTpsl"},
        {"type": "cancel", "cancels": [{"a": ASSET, "o": oid}, {"a": ASSET, "o": 1}]},
        {"type": "cancelByCloid", "cancels": [{"asset": ASSET, "cloid": ioc["c"]}]},
        {"type": "batchModify", "modifies": [{"oid": oid, "order": {**order, "p": _px(mid, 0.96)}}]},
        {"type": "updateLeverage", "asset": ASSET, "isCross": False, "leverage": 3},
        {"type": "updateLeverage", "asset": ASSET, "isCross": True, "leverage": 20},
    ]


def _paths(x, prefix=()):
    yield prefix
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _paths(v, (*prefix, i))


@st.composite
def mutated(draw, base: dict) -> dict:
    """`base` with one to three mutations at random places."""
    doc = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        op = draw(st.sampled_from(["replace", "replace", "delete", "duplicate"]))
        key = path[-1]
        if op == "delete":
            del parent[key]
        elif op == "duplicate" and isinstance(parent, list):
            parent.append(json.loads(json.dumps(parent[key])))
        else:
            parent[key] = draw(json_values)
    return doc


def _sign(wallet, action, nonce):
    try:
        return sign_l1_action(wallet, action, None, nonce, None, False)
    except (TypeError, ValueError, OverflowError):  # msgpack cannot pack it: send a well-formed but wrong signature
        return {"r": "0x" + "1" * 64, "s": "0x" + "2" * 64, "v": 27}


def _outcome(r: requests.Response) -> str:
    """A coarse label of the answer, for `--hypothesis-show-statistics` (how deep the fuzzing reaches)."""
    if r.status_code != 200:
        return str(r.status_code)
    body = r.json()
    if body.get("status") == "err":
        return "err: " + body["response"][:28]
    statuses = (body["response"].get("data") or {}).get("statuses", [])
    return "ok: " + ",".join(sorted({next(iter(s)) if isinstance(s, dict) else str(s) for s in statuses}))


def _check(h, r: requests.Response, before: tuple[str, str], refused_may_use_nonce: bool = False) -> None:
    assert r.status_code < 500, (r.status_code, r.text[:300])
    event(_outcome(r))
    refused = r.status_code >= 400 or (r.headers.get("Content-Type", "").startswith("application/json")
                                       and isinstance(r.json(), dict) and r.json().get("status") == "err")  # fmt: skip
    after = fingerprint(h)
    if refused:
        assert after[0] == before[0], f"a refused request changed the state: {r.text[:300]}"
        if r.status_code >= 400 or not refused_may_use_nonce:
            assert after[1] == before[1], f"a refused request used a nonce: {r.text[:300]}"
    assert h.exchange.invariant_violations == []


@FUZZ
@given(data=st.data())
def test_fuzzed_exchange_actions_never_5xx_never_break_invariants_and_refusals_change_nothing(rig, data):
    h, wallet, next_nonce = rig
    mid = h.exchange.engine.mark(COIN)
    oids = sorted(h.exchange.engine.open_orders.get(wallet.address.lower(), {}))
    nonce = next_nonce()
    base = data.draw(st.sampled_from(valid_actions(mid, oids, nonce)))
    action = data.draw(st.one_of(st.just(base), mutated(base)))
    body = {"action": action, "nonce": nonce, "signature": _sign(wallet, action, nonce), "vaultAddress": None,
            "expiresAfter": None}  # fmt: skip
    if data.draw(st.integers(0, 9)) == 0:
        body = data.draw(mutated(body))  # the envelope too
    before = fingerprint(h)
    r = requests.post(h.url + "/exchange", data=json.dumps(body), timeout=10)
    # an engine-level refusal of a processed action (e.g. "Insufficient margin to update leverage.") uses its nonce
    _check(h, r, before, refused_may_use_nonce=True)
    if data.draw(st.integers(0, 4)) == 0:
        h.step(data.draw(st.integers(1, 12)))
        assert h.exchange.invariant_violations == []


@FUZZ
@given(data=st.data())
def test_fuzzed_info_requests_never_5xx_and_change_nothing(rig, data):
    h, wallet, _ = rig
    user = wallet.address
    bases = [
        {"type": "meta", "dex": "xyz"},
        {"type": "allMids", "dex": ""},
        {"type": "metaAndAssetCtxs"},
        {"type": "clearinghouseState", "user": user, "dex": "xyz"},
        {"type": "frontendOpenOrders", "user": user, "dex": "xyz"},
        {"type": "userFillsByTime", "user": user, "startTime": 0, "endTime": None, "aggregateByTime": False},
        {"type": "orderStatus", "user": user, "oid": 1000},
        {"type": "orderStatus", "user": user, "oid": "0x" + "00" * 16},
        {"type": "candleSnapshot", "req": {"coin": COIN, "interval": "5m", "startTime": 0, "endTime": 2**62}},
        {"type": "l2Book", "coin": COIN},
        {"type": "userRole", "user": user},
    ]
    body = data.draw(st.one_of(st.sampled_from(bases).flatmap(mutated), json_values))
    before = fingerprint(h)
    r = requests.post(h.url + "/info", data=json.dumps(body), timeout=10)
    assert r.status_code < 500, (r.status_code, r.text[:300])
    assert fingerprint(h) == before
    if r.status_code == 200:
        text = r.text
        assert "NaN" not in text and "Infinity" not in text


@FUZZ
@given(data=st.data())
def test_fuzzed_websocket_messages_never_break_the_socket_or_the_state(rig, data):
    h, wallet, _ = rig
    subs = [
        {"type": "allMids", "dex": "xyz"},
        {"type": "candle", "coin": COIN, "interval": "1m"},
        {"type": "l2Book", "coin": COIN},
        {"type": "trades", "coin": COIN},
        {"type": "userFills", "user": wallet.address},
        {"type": "orderUpdates", "user": wallet.address},
        {"type": "userEvents", "user": wallet.address},
    ]
    msg = data.draw(
        st.one_of(
            st.sampled_from(subs).map(lambda s: {"method": "subscribe", "subscription": s}).flatmap(mutated),
            json_values,
        )
    )
    text = json.dumps(msg) if data.draw(st.booleans()) else data.draw(st.text(max_size=40))
    before = fingerprint(h)
    ws = websocket.create_connection(h.url.replace("http", "ws", 1) + "/ws", timeout=5)
    try:
        assert ws.recv() == "Websocket connection established."
        ws.send(text)
        ws.send(json.dumps({"method": "ping"}))
        for _ in range(20):  # the ack/error (and any snapshot) come first, then the pong: the socket still serves
            if json.loads(ws.recv()).get("channel") == "pong":
                break
        else:
            raise AssertionError("no pong after the fuzzed message")
    finally:
        ws.close()
    assert fingerprint(h) == before
    assert not math.isnan(h.exchange.feed.price)
