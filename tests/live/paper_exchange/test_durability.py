"""Durability: what the exchange acknowledged survives kill -9 (write-ahead journal), and the journal is handled
safely (torn tail ignored, damage refused, one server per state file)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import requests
from eth_account import Account
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.signing import get_timestamp_ms, sign_l1_action
from hyperliquid.utils.types import Cloid

from live.paper_exchange.journal import JournalError, journal_path, read_journal
from tests.support.paper_exchange import PERP_DEXS, random_walk_bars, start

COIN, ASSET = "xyz:XYZ100", 110000


def _spawn(state, address: str) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "live.paper_exchange", "--port", "0", "--speed", "0", "--bars", "3000",
           "--history-bars", "1000", "--state", str(state), "--fund", f"{address}:100000"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ)
    assert proc.stdout is not None
    deadline = time.time() + 120
    lines = []
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(r"listening on (http://\S+)", line)
        if m:
            return proc, m.group(1)
    proc.kill()
    raise AssertionError("paper exchange did not start: " + "".join(lines))


def _signed(wallet, action: dict, nonce: int) -> dict:
    sig = sign_l1_action(wallet, action, None, nonce, None, False)
    return {"action": action, "nonce": nonce, "signature": sig, "vaultAddress": None, "expiresAfter": None}


def test_kill_9_right_after_an_ack_loses_nothing_it_acknowledged(tmp_path):
    wallet = Account.create()
    state = tmp_path / "paper.json"
    proc, url = _spawn(state, wallet.address.lower())
    try:
        info = Info(url, skip_ws=True, perp_dexs=PERP_DEXS, timeout=10)
        mid = float(info.all_mids("xyz")[COIN])
        resting_cloid = Cloid.from_int(42)
        ex = Exchange(wallet, url, perp_dexs=PERP_DEXS, timeout=10)
        rest = ex.order(COIN, True, 0.01, round(mid * 0.9), {"limit": {"tif": "Gtc"}}, cloid=resting_cloid)
        resting_oid = rest["response"]["data"]["statuses"][0]["resting"]["oid"]
        fill_cloid = "0x" + "00" * 15 + "07"
        ioc = {"a": ASSET, "b": True, "p": str(round(mid * 1.05)), "s": "0.02", "r": False,
               "t": {"limit": {"tif": "Ioc"}}, "c": fill_cloid}  # fmt: skip
        body = _signed(wallet, {"type": "order", "orders": [ioc], "grouping": "na"}, get_timestamp_ms())
        ack = requests.post(url + "/exchange", json=body, timeout=10).json()
        proc.send_signal(signal.SIGKILL)  # the very moment the ack is in: no clean shutdown, no final snapshot
        proc.wait(10)
        filled = ack["response"]["data"]["statuses"][0]["filled"]
        assert filled["totalSz"] == "0.02" and filled["cloid"] == fill_cloid
        assert read_journal(journal_path(state)), "the acknowledged action must be in the journal"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)

    proc, url = _spawn(state, wallet.address.lower())
    try:
        info = Info(url, skip_ws=True, perp_dexs=PERP_DEXS, timeout=10)
        fills = info.user_fills(wallet.address)
        assert [(f["oid"], f["sz"], f.get("cloid")) for f in fills] == [(filled["oid"], "0.02", fill_cloid)]
        by_cloid = info.query_order_by_cloid(wallet.address, Cloid.from_str(fill_cloid))
        assert by_cloid["order"]["status"] == "filled" and by_cloid["order"]["order"]["oid"] == filled["oid"]
        assert info.query_order_by_cloid(wallet.address, resting_cloid)["order"]["status"] == "open"
        assert [o["oid"] for o in info.open_orders(wallet.address, "xyz")] == [resting_oid]
        pos = info.user_state(wallet.address, "xyz")["assetPositions"][0]["position"]
        assert pos["szi"] == "0.02"
        again = requests.post(url + "/exchange", json=body, timeout=10).json()  # the same signed action, resent
        assert again == {"status": "err", "response": f"Invalid nonce: duplicate nonce {body['nonce']}"}
        assert len(info.user_fills(wallet.address)) == 1
    finally:
        proc.terminate()
        proc.wait(20)
    assert proc.returncode == 0 and read_journal(journal_path(state)) == []  # clean stop: snapshot, empty journal


def test_a_restart_replays_the_journal_to_the_same_state(tmp_path, wallet):
    """Steps, fills, triggers, leverage and nonces all come back from snapshot + journal, byte for byte."""
    path = tmp_path / "state.json"
    bars = random_walk_bars(800, seed=2)
    fund = ((wallet.address.lower(), 50_000.0),)
    h = start(bars, fund=fund, state_path=str(path), state_save_every_s=3600.0)
    ex = Exchange(wallet, h.url, perp_dexs=PERP_DEXS, timeout=5)
    ex.update_leverage(5, COIN, is_cross=False)
    ex.market_open(COIN, True, 0.05)
    mid = float(Info(h.url, skip_ws=True, perp_dexs=PERP_DEXS).all_mids("xyz")[COIN])
    ex.order(COIN, False, 0.05, round(mid * 0.99), {"trigger": {"triggerPx": round(mid * 0.999), "isMarket": True,
             "tpsl": "sl"}}, reduce_only=True)  # fmt: skip
    h.step(40)
    requests.post(h.url + "/admin/fund", json={"address": wallet.address, "usd": 5}, timeout=5)
    live = h.exchange.snapshot()
    assert len(read_journal(journal_path(path))) > 40  # nothing snapshotted since the start: all in the journal
    h.exchange.journal.release_lock()  # stands in for the process dying: no final snapshot, journal left as is
    h.exchange.journal = None
    h.stop()
    h2 = start(bars, fund=fund, state_path=str(path))
    try:
        back = h2.exchange.snapshot()
        live.pop("seq"), back.pop("seq")
        assert json.dumps(back, sort_keys=True) == json.dumps(live, sort_keys=True)
        assert h2.exchange.replayed > 40
    finally:
        h2.stop()


def test_a_torn_last_journal_line_is_ignored_and_damage_elsewhere_is_refused(tmp_path):
    j = tmp_path / "s.json.journal"
    j.write_bytes(b'{"k":"s","q":1}\n{"k":"s","q":2}\n{"k":"x","q":3,"a":{"ty')
    assert [e["q"] for e in read_journal(j)] == [1, 2]
    j.write_bytes(b'{"k":"s","q":1}\n{"k":"s" garbage\n{"k":"s","q":3}\n')
    with pytest.raises(JournalError, match="line 2 is damaged"):
        read_journal(j)


def test_a_second_server_on_the_same_state_file_is_refused(tmp_path):
    path = tmp_path / "state.json"
    h = start(random_walk_bars(300), state_path=str(path))
    try:
        with pytest.raises(JournalError, match="in use by another paper exchange"):
            start(random_walk_bars(300), state_path=str(path))
    finally:
        h.stop()
    start(random_walk_bars(300), state_path=str(path)).stop()  # the lock goes with the server


def test_a_failed_journal_write_stops_service_with_503_and_acknowledges_nothing(tmp_path, wallet):
    h = start(random_walk_bars(300), fund=((wallet.address.lower(), 1e5),), state_path=str(tmp_path / "s.json"))
    journal = h.exchange.journal

    def disk_full(_data: bytes) -> None:
        raise OSError(28, "No space left on device")

    journal._write = disk_full
    body = {"type": "updateLeverage", "asset": ASSET, "isCross": True, "leverage": 3}
    r = requests.post(h.url + "/exchange", json=_signed(wallet, body, get_timestamp_ms()), timeout=10)
    assert r.status_code == 503 and "No space left on device" in r.text
    r = requests.post(h.url + "/info", json={"type": "clearinghouseState", "user": wallet.address}, timeout=10)
    assert r.status_code == 503
    assert requests.post(h.url + "/admin/step", json={"points": 1}, timeout=10).status_code == 503
    h.stop()
