"""API (agent) wallets with the real signing rules, and the userEvents channel, through the unmodified SDK."""

from __future__ import annotations

import time

import requests
from eth_account import Account
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.signing import get_timestamp_ms, sign_agent

from tests.support.paper_exchange import PERP_DEXS

COIN = "xyz:XYZ100"


def test_an_approved_agent_trades_for_its_master_and_cannot_sign_user_actions(server, wallet):
    master = Exchange(wallet, server.url, perp_dexs=PERP_DEXS, timeout=5)
    r, agent_key = master.approve_agent("bot")
    assert r == {"status": "ok", "response": {"type": "default"}}
    agent = Account.from_key(agent_key)
    bot = Exchange(agent, server.url, perp_dexs=PERP_DEXS, timeout=5, account_address=wallet.address)
    filled = bot.market_open(COIN, True, 0.01)["response"]["data"]["statuses"][0]["filled"]
    info = Info(server.url, skip_ws=True, perp_dexs=PERP_DEXS, timeout=5)
    assert info.user_state(wallet.address, "xyz")["assetPositions"][0]["position"]["szi"] == "0.01"
    assert info.user_fills(wallet.address)[0]["oid"] == filled["oid"]
    assert info.user_state(agent.address, "xyz")["assetPositions"] == []  # the agent holds nothing itself
    assert "filled" in bot.market_close(COIN)["response"]["data"]["statuses"][0]  # reads the master's position
    role = requests.post(server.url + "/info", json={"type": "userRole", "user": agent.address}, timeout=5).json()
    assert role == {"role": "agent", "data": {"user": wallet.address.lower()}}
    agents = requests.post(server.url + "/info", json={"type": "extraAgents", "user": wallet.address}, timeout=5)
    assert agents.json() == [{"address": agent.address.lower(), "name": "bot", "validUntil": None}]

    r, _ = bot.approve_agent("sub")  # an agent signing a user action (approvals; transfers and withdrawals alike)
    assert r["status"] == "err" and "cannot sign user actions" in r["response"]
    assert bot.update_leverage(3, COIN)["status"] == "ok"  # L1 actions are what an agent is for


def test_agent_approval_rules_replace_by_name_refuse_the_wrong_chain_and_limit_names(server, wallet):
    master = Exchange(wallet, server.url, perp_dexs=PERP_DEXS, timeout=5)
    _, first = master.approve_agent("bot")
    _, second = master.approve_agent("bot")  # same name: replaces the first agent
    old_agent = Account.from_key(first)
    r = Exchange(old_agent, server.url, perp_dexs=PERP_DEXS, timeout=5).market_open(COIN, True, 0.01)
    assert r == {"status": "err", "response": f"User or API Wallet {old_agent.address.lower()} does not exist."}
    new = Exchange(Account.from_key(second), server.url, perp_dexs=PERP_DEXS, timeout=5)
    assert "filled" in new.market_open(COIN, True, 0.01)["response"]["data"]["statuses"][0]
    r, unnamed = master.approve_agent()  # the SDK signs agentName "" and then drops it from the action
    assert r["status"] == "ok"
    assert master.approve_agent("two")[0]["status"] == "ok" and master.approve_agent("three")[0]["status"] == "ok"
    r, _ = master.approve_agent("four")
    assert r["status"] == "err" and "Too many named agents" in r["response"]

    agent = Account.create()
    nonce = get_timestamp_ms()
    action = {"type": "approveAgent", "agentAddress": agent.address, "agentName": "x", "nonce": nonce}
    sig = sign_agent(wallet, action, True)  # signed for Mainnet
    body = {"action": action, "nonce": nonce, "signature": sig, "vaultAddress": None, "expiresAfter": None}
    r = requests.post(server.url + "/exchange", json=body, timeout=5).json()
    assert r["status"] == "err" and "hyperliquidChain 'Mainnet'" in r["response"]
    action["agentName"] = "y"  # tampered after signing: the signature recovers someone else
    r = requests.post(server.url + "/exchange", json={**body, "action": action}, timeout=5).json()
    assert r["status"] == "err" and r["response"].startswith("User or API Wallet 0x")


def test_user_events_channel_carries_the_masters_fills(server, wallet):
    info = Info(server.url, skip_ws=False, perp_dexs=PERP_DEXS, timeout=5)
    got: list = []
    try:
        info.subscribe({"type": "userEvents", "user": wallet.address}, got.append)
        time.sleep(0.2)
        Exchange(wallet, server.url, perp_dexs=PERP_DEXS, timeout=5).market_open(COIN, False, 0.01)
        deadline = time.time() + 5
        while not got and time.time() < deadline:
            time.sleep(0.02)
        assert got and got[0]["channel"] == "user"
        assert got[0]["data"]["fills"][0]["dir"] == "Open Short"
    finally:
        info.disconnect_websocket()
