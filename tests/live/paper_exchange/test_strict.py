"""Bad input is refused at the door (422 or an error status), whole, with no side effect and no traceback.

Each case is the row of the table in docs/PAPER_EXCHANGE.md ("Bad input and faults").
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import requests
import websocket
from eth_account import Account
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.signing import get_timestamp_ms, sign_l1_action

from backtest.data.schema import DataError
from live.paper_exchange.http_api import BAD_JSON
from tests.support.paper_exchange import PERP_DEXS, bars_from_closes, random_walk_bars, start

COIN, ASSET = "xyz:XYZ100", 110000


def fingerprint(h) -> str:
    """Everything the exchange knows, except the journal sequence number."""
    snap = h.exchange.snapshot()
    snap.pop("seq")
    return json.dumps(snap, sort_keys=True)


def signed(wallet, action: dict, nonce: int | None = None, **envelope) -> dict:
    nonce = get_timestamp_ms() if nonce is None else nonce
    sig = sign_l1_action(wallet, action, None, nonce, None, False)
    return {"action": action, "nonce": nonce, "signature": sig, "vaultAddress": None, "expiresAfter": None, **envelope}


def limit(px: str, sz: str = "0.01", tif: str = "Gtc", b: bool = True, **kw) -> dict:
    return {"a": ASSET, "b": b, "p": px, "s": sz, "r": False, "t": {"limit": {"tif": tif}}, **kw}


@pytest.fixture
def mid(server) -> float:
    return float(Info(server.url, skip_ws=True, perp_dexs=PERP_DEXS, timeout=5).all_mids("xyz")[COIN])


def post(h, path: str, body=None, raw: bytes | None = None) -> requests.Response:
    if raw is not None:
        return requests.post(h.url + path, data=raw, headers={"Content-Type": "application/json"}, timeout=10)
    return requests.post(h.url + path, json=body, timeout=10)


def assert_422(r: requests.Response) -> None:
    assert r.status_code == 422 and r.text == BAD_JSON, (r.status_code, r.text[:200])


def _exchange_cases(mid: float) -> dict[str, tuple[dict, str]]:
    """Malformed actions, each properly signed: only the malformation can be the reason for the refusal."""
    px = str(round(mid * 0.9))
    tp = {"a": ASSET, "b": False, "p": px, "s": "0.01", "r": True,
          "t": {"trigger": {"isMarket": True, "triggerPx": str(round(mid * 1.1)), "tpsl": "tp"}}}  # fmt: skip
    return {
        "normalTpsl child not an object": (
            {"type": "order", "orders": [limit(px), 5], "grouping": "normalTpsl"}, "422"),
        "normalTpsl child with a bad tpsl": (
            {"type": "order", "orders": [limit(px), {**tp, "t": {"trigger": {**tp["t"]["trigger"], "tpsl": "x"}}}],
             "grouping": "normalTpsl"}, "422"),
        "limit price 1 followed by 5000 zeros": (
            {"type": "order", "orders": [limit("1" + "0" * 5000)], "grouping": "na"}, "422"),
        "limit price 1e400": ({"type": "order", "orders": [limit("1e400")], "grouping": "na"}, "422"),
        "limit price NaN": ({"type": "order", "orders": [limit("NaN")], "grouping": "na"}, "422"),
        "limit price as a JSON number": ({"type": "order", "orders": [limit(px)], "grouping": "na"}, "number"),
        "size inf": ({"type": "order", "orders": [limit(px, sz="inf")], "grouping": "na"}, "422"),
        "unknown tif": ({"type": "order", "orders": [limit(px, tif="Fok")], "grouping": "na"}, "422"),
        "grouping missing": ({"type": "order", "orders": [limit(px)]}, "422"),
        "asset beyond u32": ({"type": "order", "orders": [{**limit(px), "a": 2**40}], "grouping": "na"}, "422"),
        "bad cloid": ({"type": "order", "orders": [limit(px, c="0x1234")], "grouping": "na"}, "422"),
        "cancel element missing its oid": ({"type": "cancel", "cancels": [{"a": ASSET, "o": 1000}, {"a": ASSET}]},
                                           "422"),
        "cancelByCloid with a bad cloid": ({"type": "cancelByCloid", "cancels": [{"asset": ASSET, "cloid": 7}]},
                                           "422"),
        "batchModify element not an object": ({"type": "batchModify", "modifies": [None]}, "422"),
        "updateLeverage with a string leverage": (
            {"type": "updateLeverage", "asset": ASSET, "isCross": True, "leverage": "5"}, "422"),
        "unknown action type": ({"type": "noSuchAction"}, "422"),
        "unsupported action (withdraw3)": (
            {"type": "withdraw3", "destination": "0x" + "00" * 20, "amount": "1", "time": 1}, "unsupported"),
    }  # fmt: skip


@pytest.mark.parametrize(
    "case",
    [
        "normalTpsl child not an object",
        "normalTpsl child with a bad tpsl",
        "limit price 1 followed by 5000 zeros",
        "limit price 1e400",
        "limit price NaN",
        "limit price as a JSON number",
        "size inf",
        "unknown tif",
        "grouping missing",
        "asset beyond u32",
        "bad cloid",
        "cancel element missing its oid",
        "cancelByCloid with a bad cloid",
        "batchModify element not an object",
        "updateLeverage with a string leverage",
        "unknown action type",
        "unsupported action (withdraw3)",
    ],
)
def test_a_malformed_action_is_refused_whole_and_changes_nothing(server, wallet, mid, case, caplog):
    ex = Exchange(wallet, server.url, perp_dexs=PERP_DEXS, timeout=5)
    first = ex.order(COIN, True, 0.01, round(mid * 0.8), {"limit": {"tif": "Gtc"}})  # something a cancel could hit
    assert "resting" in first["response"]["data"]["statuses"][0]
    action, expect = _exchange_cases(mid)[case]
    if expect == "number":
        action["orders"][0]["p"] = float(action["orders"][0]["p"])
    before = fingerprint(server)
    nonce = get_timestamp_ms() + 5
    with caplog.at_level(logging.WARNING):
        r = post(server, "/exchange", signed(wallet, action, nonce))
    if expect == "unsupported":
        unsupported = "Action type 'withdraw3' is not supported by the paper exchange."
        assert r.json() == {"status": "err", "response": unsupported}
    else:
        assert_422(r)
    assert fingerprint(server) == before  # nothing rested, nothing cancelled, no nonce used
    assert "Traceback" not in caplog.text and not [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    ok = post(server, "/exchange", signed(wallet, {"type": "cancel", "cancels": [{"a": ASSET, "o": 0}]}, nonce))
    assert ok.json()["status"] == "ok"  # the same nonce is still free


@pytest.mark.parametrize(
    ("name", "mutate"),
    [
        ("nonce -1", lambda b: b.update(nonce=-1)),
        ("nonce 2**64", lambda b: b.update(nonce=2**64)),
        ("nonce 1.5", lambda b: b.update(nonce=1.5)),
        ("expiresAfter a string", lambda b: b.update(expiresAfter="soon")),
        ("expiresAfter 1e400", lambda b: b.update(expiresAfter=10**400)),
        ("vaultAddress a number", lambda b: b.update(vaultAddress=5)),
        ("vaultAddress not hex", lambda b: b.update(vaultAddress="0x" + "zz" * 20)),
        ("signature r not hex", lambda b: b["signature"].update(r="0xnothex")),
        ("signature v a string", lambda b: b["signature"].update(v="27")),
        ("signature missing", lambda b: b.pop("signature")),
        ("action a list", lambda b: b.update(action=[1, 2])),
    ],
)
def test_a_malformed_envelope_is_a_422_and_changes_nothing(server, wallet, name, mutate):
    body = signed(wallet, {"type": "updateLeverage", "asset": ASSET, "isCross": True, "leverage": 3})
    mutate(body)
    before = fingerprint(server)
    assert_422(post(server, "/exchange", body))
    assert fingerprint(server) == before


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/info", b'{"type":"userFillsByTime","user":"0x' + b"ab" * 20 + b'","startTime":1e400}'),
        ("/info", b'{"type":"userFillsByTime","user":"0x' + b"ab" * 20 + b'","startTime":NaN}'),
        ("/info", b'{"type":"candleSnapshot","req":{"coin":"BTC","interval":"1m","startTime":-Infinity}}'),
        ("/info", b"[" * 100_000 + b"]" * 100_000),
        ("/exchange", b'{"action":' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        ("/exchange", b'{"action":{"type":"order"},"nonce":NaN}'),
        ("/info", b"\xff\xfe not utf-8"),
        ("/info", b""),
        ("/info", b'{"type":"orderStatus","user":"0x' + b"ab" * 20 + b'","oid":1.5}'),
        ("/info", b'{"type":"clearinghouseState","user":"alice"}'),
        ("/info", b'{"type":"allMids","dex":5}'),
        ("/info", b'{"type":"candleSnapshot"}'),
        ("/info", b'["type","meta"]'),
    ],
)
def test_bad_json_numbers_nesting_and_shapes_are_422_without_a_traceback(server, path, raw, caplog):
    before = fingerprint(server)
    with caplog.at_level(logging.WARNING):
        assert_422(post(server, path, raw=raw))
    assert fingerprint(server) == before
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR]


def test_a_huge_body_is_413(server):
    assert post(server, "/exchange", raw=b'{"x":"' + b"a" * (5 * 1024 * 1024) + b'"}').status_code == 413


def test_cancel_batches_answer_per_element_when_the_shape_is_right(server, wallet, mid):
    ex = Exchange(wallet, server.url, perp_dexs=PERP_DEXS, timeout=5)
    oid = ex.order(COIN, True, 0.01, round(mid * 0.8), {"limit": {"tif": "Gtc"}})["response"]["data"]["statuses"][0][
        "resting"
    ]["oid"]
    r = post(server, "/exchange", signed(wallet, {"type": "cancel", "cancels": [{"a": ASSET, "o": oid},
                                                                                 {"a": ASSET, "o": 1}]}))  # fmt: skip
    assert r.json()["response"]["data"]["statuses"] == [
        "success",
        {"error": "Order was never placed, already canceled, or filled."},
    ]


def test_orders_far_from_the_oracle_or_on_an_unknown_asset_are_refused_per_element(server, wallet, mid):
    ex = Exchange(wallet, server.url, perp_dexs=PERP_DEXS, timeout=5)
    orders = [limit(str(round(mid * 5))), {**limit(str(round(mid * 0.9))), "a": 7}, limit(str(round(mid * 0.9)))]
    r = post(server, "/exchange", signed(wallet, {"type": "order", "orders": orders, "grouping": "na"})).json()
    statuses = r["response"]["data"]["statuses"]
    assert statuses[:2] == [{"error": "Order price too far from oracle"}, {"error": "Invalid asset."}]
    assert "resting" in statuses[2]
    assert ex.update_leverage(0, COIN) == {"status": "err", "response": "Invalid leverage value."}


def test_lowering_isolated_leverage_without_the_margin_is_refused(wallet):
    h = start(bars_from_closes([20000.0] * 200), fund=((wallet.address.lower(), 120.0),))
    info = Info(h.url, skip_ws=True, perp_dexs=PERP_DEXS, timeout=5)
    ex = Exchange(wallet, h.url, perp_dexs=PERP_DEXS, timeout=5)
    assert ex.update_leverage(10, COIN, is_cross=False)["status"] == "ok"
    assert "filled" in ex.market_open(COIN, True, 0.05)["response"]["data"]["statuses"][0]  # $1000, $100 margin
    before = fingerprint(h)
    r = ex.update_leverage(1, COIN, is_cross=False)  # would lock $1000 of margin out of a $120 account
    assert r == {"status": "err", "response": "Insufficient margin to update leverage."}
    assert fingerprint(h) != before  # the nonce is used (the action was processed), but:
    state = info.user_state(wallet.address, "xyz")
    assert state["assetPositions"][0]["position"]["leverage"]["value"] == 10
    summary = state["marginSummary"]
    assert float(summary["totalMarginUsed"]) <= float(summary["accountValue"])
    assert h.exchange.engine.accounts[wallet.address.lower()].balance >= 0
    assert ex.update_leverage(9, COIN, is_cross=False)["status"] == "ok"  # a little more margin fits


def test_lowering_cross_leverage_beyond_the_account_value_is_refused(wallet):
    h = start(bars_from_closes([20000.0] * 200), fund=((wallet.address.lower(), 200.0),))
    ex = Exchange(wallet, h.url, perp_dexs=PERP_DEXS, timeout=5)
    assert ex.update_leverage(20, COIN)["status"] == "ok"
    ex.market_open(COIN, True, 0.15)  # $3000 at 20x: $150 margin
    assert ex.update_leverage(2, COIN) == {"status": "err", "response": "Insufficient margin to update leverage."}
    assert ex.update_leverage(18, COIN)["status"] == "ok"  # $167 of margin fits in ~$199


@pytest.mark.parametrize(("col", "bad"), [("close", np.nan), ("high", np.inf), ("low", -1.0)])
def test_a_price_file_with_a_bad_bar_is_refused_at_startup(tmp_path, col, bad):
    bars = random_walk_bars(300)
    bars.loc[57, col] = bad
    with pytest.raises(DataError, match="row 57"):
        start(bars)
    path = tmp_path / "bars.parquet"
    bars.to_parquet(path)
    from live.paper_exchange.prices import load_bars

    with pytest.raises(DataError, match=f"row 57.*{col}"):
        load_bars(str(path), 0, 0)


def test_websocket_garbage_gets_an_error_message_and_the_socket_keeps_serving(server):
    ws = websocket.create_connection(server.url.replace("http", "ws", 1) + "/ws", timeout=5)
    try:
        assert ws.recv() == "Websocket connection established."
        for bad in ("{not json", '{"method":"subscribe","subscription":{"type":"allMids","dex":NaN}}',
                    '{"method":"subscribe","subscription":{"type":"userFills","user":"bob"}}',
                    '{"method":"subscribe","subscription":{"type":"webData2","user":"0x' + "ab" * 20 + '"}}',
                    '{"method":"subscribe","subscription":[]}', "[" * 50_000):  # fmt: skip
            ws.send(bad)
            assert json.loads(ws.recv())["channel"] == "error"
        ws.send_binary(b"\x00\x01")
        assert json.loads(ws.recv())["channel"] == "error"
        ws.send(json.dumps({"method": "ping"}))
        assert json.loads(ws.recv()) == {"channel": "pong"}
    finally:
        ws.close()


def test_an_unknown_signer_and_a_wrong_key_change_nothing(server, wallet):
    before = fingerprint(server)
    stranger = Account.create()
    r = post(server, "/exchange", signed(stranger, {"type": "cancel", "cancels": []}))
    assert r.json() == {"status": "err", "response": f"User or API Wallet {stranger.address.lower()} does not exist."}
    assert fingerprint(server) == before
