"""Signing: the hand-built EIP-712 digest equals eth_account's, and exact recovery matches the SDK's test vectors."""

from __future__ import annotations

import os

import pytest
from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_hash.auto import keccak
from hyperliquid.utils import signing as sdk
from hyperliquid.utils.signing import (
    float_to_int_for_hashing,
    l1_payload,
    order_request_to_order_wire,
    order_wires_to_order_action,
    sign_l1_action,
)
from hyperliquid.utils.types import Cloid

from live.paper_exchange.signing import SignatureError, action_hash, agent_digest, recover_signer

# the key and vectors below come from hyperliquid-python-sdk's tests/signing_test.py
SDK_KEY = "0x0123456789012345678901234567890123456789012345678901234567890123"
VAULT = "0x1719884eb866cb12b2287399b15f7db5e7d775ea"


def _typed(connection_id: bytes, is_mainnet: bool) -> SignableMessage:
    """The reference path: the SDK's own typed-data payload through eth_account's generic EIP-712 encoder."""
    return encode_typed_data(
        full_message=l1_payload({"source": "a" if is_mainnet else "b", "connectionId": connection_id})
    )


@pytest.mark.parametrize("is_mainnet", [True, False])
def test_fast_digest_equals_eth_account_digest(is_mainnet):
    for connection_id in [bytes(32), b"\xff" * 32, *(os.urandom(32) for _ in range(20))]:
        msg = _typed(connection_id, is_mainnet)
        assert agent_digest(connection_id, is_mainnet) == keccak(b"\x19" + msg.version + msg.header + msg.body)


def _order(cloid: Cloid | None = None, order_type: dict | None = None) -> dict:
    req = {
        "coin": "ETH",
        "is_buy": True,
        "sz": 100,
        "limit_px": 100,
        "reduce_only": False,
        "order_type": order_type or {"limit": {"tif": "Gtc"}},
        "cloid": cloid,
    }
    return order_wires_to_order_action([order_request_to_order_wire(req, 1)])


DUMMY = {"type": "dummy", "num": float_to_int_for_hashing(1000)}
# (action, vault, is_mainnet, r, s, v) copied from the SDK's tests/signing_test.py (nonce 0, no expiresAfter)
SDK_VECTORS = [
    (DUMMY, None, True, "0x53749d5b30552aeb2fca34b530185976545bb22d0b3ce6f62e31be961a59298",
     "0x755c40ba9bf05223521753995abb2f73ab3229be8ec921f350cb447e384d8ed8", 27),
    (DUMMY, None, False, "0x542af61ef1f429707e3c76c5293c80d01f74ef853e34b76efffcb57e574f9510",
     "0x17b8b32f086e8cdede991f1e2c529f5dd5297cbe8128500e00cbaf766204a613", 28),
    (_order(), None, True, "0xd65369825a9df5d80099e513cce430311d7d26ddf477f5b3a33d2806b100d78e",
     "0x2b54116ff64054968aa237c20ca9ff68000f977c93289157748a3162b6ea940e", 28),
    (_order(), None, False, "0x82b2ba28e76b3d761093aaded1b1cdad4960b3af30212b343fb2e6cdfa4e3d54",
     "0x6b53878fc99d26047f4d7e8c90eb98955a109f44209163f52d8dc4278cbbd9f5", 27),
    (_order(Cloid.from_str("0x00000000000000000000000000000001")), None, False,
     "0xeba0664bed2676fc4e5a743bf89e5c7501aa6d870bdb9446e122c9466c5cd16d",
     "0x7f3e74825c9114bc59086f1eebea2928c190fdfbfde144827cb02b85bbe90988", 28),
    (_order(order_type={"trigger": {"triggerPx": 103, "isMarket": True, "tpsl": "sl"}}), None, False,
     "0x971c554d917c44e0e1b6cc45d8f9404f32172a9d3b3566262347d0302896a2e4",
     "0x206257b104788f80450f8e786c329daa589aa0b32ba96948201ae556d5637eac", 28),
    (DUMMY, VAULT, True, "0x3c548db75e479f8012acf3000ca3a6b05606bc2ec0c29c50c515066a326239",
     "0x4d402be7396ce74fbba3795769cda45aec00dc3125a984f2a9f23177b190da2c", 28),
    (DUMMY, VAULT, False, "0xe281d2fb5c6e25ca01601f878e4d69c965bb598b88fac58e475dd1f5e56c362b",
     "0x7ddad27e9a238d045c035bc606349d075d5c5cd00a6cd1da23ab5c39d4ef0f60", 27),
]  # fmt: skip


@pytest.mark.parametrize("action, vault, is_mainnet, r, s, v", SDK_VECTORS)
def test_sdk_test_vectors_recover_the_sdk_test_key(action, vault, is_mainnet, r, s, v):
    expected = Account.from_key(SDK_KEY).address.lower()
    digest = agent_digest(action_hash(action, vault, 0, None), is_mainnet)
    assert recover_signer(digest, {"r": r, "s": s, "v": v}) == expected
    assert recover_signer(digest, {"r": r, "s": s, "v": 55 - v}) != expected  # flipped v: another address
    other_source = agent_digest(action_hash(action, vault, 0, None), not is_mainnet)
    assert recover_signer(other_source, {"r": r, "s": s, "v": v}) != expected


def test_recovery_matches_eth_account_for_fresh_sdk_signatures_and_flipped_v():
    wallet = Account.create()
    for nonce in range(1_700_000_000_000, 1_700_000_000_010):
        action = {"type": "updateLeverage", "asset": 110000, "isCross": nonce % 2 == 0, "leverage": 1 + nonce % 20}
        sig = sign_l1_action(wallet, action, None, nonce, None, False)
        connection_id = action_hash(action, None, nonce, None)
        assert connection_id == sdk.action_hash(action, None, nonce, None)
        assert recover_signer(agent_digest(connection_id, False), sig) == wallet.address.lower()
        sig["v"] = 55 - sig["v"]
        vrs = (sig["v"], int(sig["r"], 16), int(sig["s"], 16))
        flipped = Account.recover_message(_typed(connection_id, False), vrs=vrs).lower()
        assert recover_signer(agent_digest(connection_id, False), sig) == flipped != wallet.address.lower()


@pytest.mark.parametrize(
    "sig",
    [
        {"r": "0x0", "s": "0x1", "v": 27},
        {"r": "0x1", "s": "0x1", "v": 29},
        {"r": "0xzz", "s": "0x1", "v": 27},
        {"r": "0x1", "v": 27},
        {"r": hex(2**256 - 1), "s": "0x1", "v": 27},
        None,
    ],
)
def test_malformed_signatures_raise_signature_error(sig):
    with pytest.raises(SignatureError):
        recover_signer(bytes(32), sig)


@pytest.mark.parametrize(("chain", "name"), [("Testnet", "bot"), ("Mainnet", ""), ("Testnet", "a longer name ü")])
def test_approve_agent_digest_equals_eth_account_on_the_sdks_payload(chain, name):
    from hyperliquid.utils.signing import user_signed_payload

    from live.paper_exchange.signing import approve_agent_digest

    agent = Account.create().address
    action = {"hyperliquidChain": chain, "agentAddress": agent, "agentName": name, "nonce": 1_700_000_000_123}
    types = [
        {"name": "hyperliquidChain", "type": "string"},
        {"name": "agentAddress", "type": "address"},
        {"name": "agentName", "type": "string"},
        {"name": "nonce", "type": "uint64"},
    ]
    for chain_id in ("0x66eee", "0x1", "0xa4b1"):
        msg = encode_typed_data(
            full_message=user_signed_payload(
                "HyperliquidTransaction:ApproveAgent", types, {**action, "signatureChainId": chain_id}
            )
        )
        expected = keccak(b"\x19" + msg.version + msg.header + msg.body)
        assert approve_agent_digest(chain, agent.lower(), name, action["nonce"], int(chain_id, 16)) == expected
