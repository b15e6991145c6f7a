"""Signatures, nonces, malformed bodies, seeded fault injection, persistence and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import requests
import websocket
from eth_account import Account
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.error import ClientError, ServerError
from hyperliquid.utils.signing import get_timestamp_ms, sign_l1_action

from live.paper_exchange.__main__ import parse_args
from live.paper_exchange.config import FaultConfig
from live.paper_exchange.http_api import BAD_JSON
from tests.support.paper_exchange import PERP_DEXS, random_walk_bars, start

COIN = "xyz:XYZ100"
LEVERAGE = {"type": "updateLeverage", "asset": 110000, "isCross": True, "leverage": 5}


def post_signed(url: str, wallet, action: dict, nonce: int, sent_action: dict | None = None) -> dict:
    sig = sign_l1_action(wallet, action, None, nonce, None, False)
    body = {
        "action": sent_action or action,
        "nonce": nonce,
        "signature": sig,
        "vaultAddress": None,
        "expiresAfter": None,
    }
    return requests.post(url + "/exchange", json=body, timeout=5).json()


def test_request_signed_by_the_wrong_key_is_refused(server, wallet):
    ok = post_signed(server.url, wallet, LEVERAGE, get_timestamp_ms())
    assert ok == {"status": "ok", "response": {"type": "default"}}
    tampered = dict(LEVERAGE, leverage=7)  # signed leverage 5, sent 7: the recovered signer is someone else
    r = post_signed(server.url, wallet, LEVERAGE, get_timestamp_ms() + 1, sent_action=tampered)
    assert r["status"] == "err" and r["response"].startswith("User or API Wallet 0x")
    assert wallet.address.lower() not in r["response"]
    other = Account.create()
    r = post_signed(server.url, other, LEVERAGE, get_timestamp_ms() + 2)
    assert r == {"status": "err", "response": f"User or API Wallet {other.address.lower()} does not exist."}


def test_a_flipped_v_is_refused_by_default(server, wallet):
    nonce = get_timestamp_ms()
    sig = sign_l1_action(wallet, LEVERAGE, None, nonce, None, False)
    sig["v"] = 55 - sig["v"]  # 27 <-> 28: a valid signature of another key, as the real API recovers it
    body = {"action": LEVERAGE, "nonce": nonce, "signature": sig, "vaultAddress": None, "expiresAfter": None}
    r = requests.post(server.url + "/exchange", json=body, timeout=5).json()
    assert r["status"] == "err" and r["response"].startswith("User or API Wallet 0x")
    assert wallet.address.lower() not in r["response"]
    sig["v"] = 55 - sig["v"]  # the untampered signature still passes: the flipped one did not burn the nonce
    body["signature"] = sig
    assert requests.post(server.url + "/exchange", json=body, timeout=5).json()["status"] == "ok"


def test_reused_and_stale_nonces_are_refused(server, wallet):
    nonce = get_timestamp_ms()
    assert post_signed(server.url, wallet, LEVERAGE, nonce)["status"] == "ok"
    again = post_signed(server.url, wallet, LEVERAGE, nonce)
    assert again == {"status": "err", "response": f"Invalid nonce: duplicate nonce {nonce}"}
    stale = nonce - 3 * 86_400_000
    r = post_signed(server.url, wallet, LEVERAGE, stale)
    assert r["status"] == "err" and r["response"].startswith("Invalid nonce")


def test_malformed_json_gets_422_plain_text_and_the_server_keeps_serving(server):
    for path in ("/exchange", "/info"):
        r = requests.post(server.url + path, data=b"{not json", headers={"Content-Type": "application/json"}, timeout=5)
        assert r.status_code == 422 and r.text == BAD_JSON and r.headers["Content-Type"].startswith("text/plain")
    r = requests.post(server.url + "/info", json={"type": "noSuchThing"}, timeout=5)
    assert r.status_code == 422
    r = requests.post(server.url + "/exchange", json={"action": {"type": "order"}}, timeout=5)
    assert r.status_code == 422
    info = Info(server.url, skip_ws=True, perp_dexs=PERP_DEXS, timeout=5)
    assert COIN in info.all_mids("xyz")


def _fault_sequence(fail: float, limit: float, seed: int, n: int = 300) -> list[int]:
    h = start(random_walk_bars(500), faults=FaultConfig(fail_rate=fail, rate_limit_rate=limit, seed=seed))
    try:
        s = requests.Session()
        return [s.post(h.url + "/info", json={"type": "allMids"}, timeout=5).status_code for _ in range(n)]
    finally:
        h.stop()


def test_fault_flags_produce_500_and_429_at_the_given_rates_reproducibly():
    codes = _fault_sequence(0.2, 0.1, seed=5)
    n500, n429 = codes.count(500), codes.count(429)
    assert 35 <= n500 <= 85 and 12 <= n429 <= 50  # 300 draws at 20 % and 10 %: about 4 sigma bands
    assert set(codes) == {200, 429, 500}
    assert _fault_sequence(0.2, 0.1, seed=5) == codes  # same seed, same sequence
    assert _fault_sequence(0.2, 0.1, seed=6) != codes


def test_sdk_sees_injected_faults_as_server_and_client_errors():
    h = start(random_walk_bars(500), faults=FaultConfig(fail_rate=0.5, rate_limit_rate=0.5, seed=1))
    try:
        info_errors = set()
        api = Info.__new__(Info)  # the SDK's API.post without the construction-time calls
        from hyperliquid.api import API

        API.__init__(api, h.url, 5)
        for _ in range(20):
            with pytest.raises((ServerError, ClientError)) as exc:
                api.post("/info", {"type": "allMids"})
            info_errors.add(type(exc.value).__name__)
        assert info_errors == {"ServerError", "ClientError"}
    finally:
        h.stop()


def test_reject_rate_rejects_orders_reproducibly(wallet):
    def run() -> list[bool]:
        h = start(
            random_walk_bars(500), fund=((wallet.address.lower(), 1e6),), faults=FaultConfig(reject_rate=0.3, seed=9)
        )
        try:
            ex = Exchange(wallet, h.url, perp_dexs=PERP_DEXS, timeout=5)
            out = []
            for _ in range(40):
                st = ex.market_open(COIN, True, 0.001)["response"]["data"]["statuses"][0]
                out.append("error" in st)
            return out
        finally:
            h.stop()

    first = run()
    assert 4 <= sum(first) <= 22
    assert run() == first


def test_added_latency_delays_every_answer():
    h = start(random_walk_bars(500), faults=FaultConfig(latency_ms=40))
    try:
        s = requests.Session()
        times = []
        for _ in range(5):
            t = time.perf_counter()
            s.post(h.url + "/info", json={"type": "allMids"}, timeout=5)
            times.append(time.perf_counter() - t)
        assert min(times) >= 0.04
    finally:
        h.stop()


def test_websocket_is_dropped_every_n_seconds_and_the_feed_freezes():
    h = start(random_walk_bars(5000), speed=600.0, faults=FaultConfig(ws_drop_every=0.4, freeze_after=0.6))
    try:
        ws = websocket.create_connection(h.url.replace("http", "ws", 1) + "/ws", timeout=5)
        assert ws.recv() == "Websocket connection established."
        ws.send(json.dumps({"method": "ping"}))
        assert json.loads(ws.recv()) == {"channel": "pong"}
        t = time.time()
        with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):  # close or reset
            while time.time() - t < 3:
                ws.recv()
        assert time.time() - t < 1.5
        time.sleep(0.5)
        before = h.exchange.feed.position()
        time.sleep(0.3)
        assert h.exchange.feed.position() == before and before["frozen"] is True
        r = requests.post(h.url + "/admin/freeze", json={"frozen": False}, timeout=5)
        assert r.json()["frozen"] is False
        time.sleep(0.3)
        assert h.exchange.feed.position() != before
    finally:
        h.stop()


def test_state_survives_a_restart(tmp_path, wallet):
    path = tmp_path / "state.json"
    bars = random_walk_bars(800, seed=2)
    fund = ((wallet.address.lower(), 50_000.0),)
    h = start(bars, fund=fund, state_path=str(path))
    ex = Exchange(wallet, h.url, perp_dexs=PERP_DEXS, timeout=5)
    ex.market_open(COIN, False, 0.02)
    h.step(6)
    nonce = get_timestamp_ms() + 10
    assert post_signed(h.url, wallet, LEVERAGE, nonce)["status"] == "ok"
    h.stop()
    assert path.exists() and not list(tmp_path.glob("*.tmp"))
    h2 = start(bars, fund=fund, state_path=str(path))
    try:
        info = Info(h2.url, skip_ws=True, perp_dexs=PERP_DEXS, timeout=5)
        pos = info.user_state(wallet.address, "xyz")["assetPositions"][0]["position"]
        assert pos["szi"] == "-0.02" and pos["leverage"]["value"] == 5
        assert h2.exchange.feed.position()["bar"] == 101 and len(info.user_fills(wallet.address)) == 1
        assert post_signed(h2.url, wallet, LEVERAGE, nonce)["response"].startswith("Invalid nonce")
    finally:
        h2.stop()


def test_admin_fund_creates_an_account_the_sdk_can_trade_with(server):
    newbie = Account.create()
    r = requests.post(server.url + "/admin/fund", json={"address": newbie.address, "usd": 2500}, timeout=5)
    assert r.json() == {"status": "ok", "address": newbie.address.lower(), "balance": "2500"}
    ex = Exchange(newbie, server.url, perp_dexs=PERP_DEXS, timeout=5)
    assert "filled" in ex.market_open(COIN, True, 0.01)["response"]["data"]["statuses"][0]


def test_cli_parses_flags_and_help_runs():
    cfg = parse_args(["--port", "0", "--speed", "120", "--fund", "0x" + "ab" * 20 + ":1000", "--fail-rate", "0.1"])
    assert cfg.speed == 120 and cfg.fund == (("0x" + "ab" * 20, 1000.0),) and cfg.faults.fail_rate == 0.1
    out = subprocess.run(
        [sys.executable, "-m", "live.paper_exchange", "--help"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and "--ws-drop-every" in out.stdout and "--state" in out.stdout


def test_cli_flags_take_defaults_from_the_params_and_bounds_from_the_schema(capsys):
    from live.paper_exchange.config import PaperExchangeParams

    assert parse_args([]).taker_fee == PaperExchangeParams().taker_fee  # one default, in the schema
    assert parse_args(["--set", "paper_exchange.spread_bps=7"]).spread_bps == 7  # the params file's section
    assert parse_args(["--set", "paper_exchange.spread_bps=7", "--spread-bps", "3"]).spread_bps == 3  # flag wins
    for argv, said in (
        (["--port", "70000"], "argument --port: expects >= 0 and <= 65535 (paper_exchange.port), got '70000'"),
        (["--spread-bps", "5000"], "expects >= 0 and <= 1000 (paper_exchange.spread_bps)"),  # as --set would say
        (["--fail-rate", "0.6", "--rate-limit-rate", "0.6"], "fail_rate + rate_limit_rate must not exceed 1"),
    ):
        with pytest.raises(SystemExit):
            parse_args(argv)
        assert said in capsys.readouterr().err


def test_fee_flags_are_the_venues_facts(capsys):
    cfg = parse_args(["--port", "0", "--maker-fee", "-0.0001", "--deployer-fee-scale", "0.5", "--growth-mode"])
    assert cfg.maker_fee == -0.0001 and cfg.deployer_fee_scale == 0.5 and cfg.growth_mode and cfg.taker_fee is None
    assert parse_args(["--port", "0"]).growth_mode is False
    for bad, said in (
        (["--taker-fee", "0.1"], "paper_exchange.taker_fee"),
        (["--deployer-fee-scale", "2", "--growth-mode"], "growth_mode needs deployer_fee_scale <= 1"),
    ):
        with pytest.raises(SystemExit):
            parse_args(["--port", "0", *bad])
        assert said in capsys.readouterr().err
