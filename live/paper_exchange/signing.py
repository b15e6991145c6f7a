"""Signature verification (L1 actions: the EIP-712 "Agent" phantom message; user actions: EIP-712
HyperliquidTransaction:* messages) and per-signer nonce tracking.

The digest is built by hand (constant domain separator, one struct hash) instead of through eth_account's generic
typed-data encoder, and the signer is recovered exactly on every request with libsecp256k1 (coincurve, ~40 us), like
the real API: a tampered `v`, action or source recovers another address, which the caller then refuses.
"""

from __future__ import annotations

import heapq
from typing import Any

import msgpack
from coincurve import PublicKey
from eth_hash.auto import keccak

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _domain_separator() -> bytes:
    type_hash = keccak(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    return keccak(
        type_hash + keccak(b"Exchange") + keccak(b"1") + (1337).to_bytes(32, "big") + bytes(32)  # address(0)
    )


DOMAIN_SEPARATOR = _domain_separator()
AGENT_TYPE_HASH = keccak(b"Agent(string source,bytes32 connectionId)")
_SOURCE_HASH = {True: keccak(b"a"), False: keccak(b"b")}  # mainnet signs source "a", every other URL "b"


_USER_DOMAIN_TYPE = keccak(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
APPROVE_AGENT_TYPE = (
    "HyperliquidTransaction:ApproveAgent(string hyperliquidChain,address agentAddress,string agentName,uint64 nonce)"
)
APPROVE_AGENT_TYPE_HASH = keccak(APPROVE_AGENT_TYPE.encode())


def user_domain_separator(chain_id: int) -> bytes:
    """Domain of user-signed actions: {name "HyperliquidSignTransaction", version "1", chainId, verifyingContract 0}."""
    return keccak(
        _USER_DOMAIN_TYPE
        + keccak(b"HyperliquidSignTransaction")
        + keccak(b"1")
        + chain_id.to_bytes(32, "big")
        + bytes(32)
    )


def approve_agent_digest(chain: str, agent: str, name: str, nonce: int, chain_id: int) -> bytes:
    """EIP-712 digest of HyperliquidTransaction:ApproveAgent, as the SDK's `sign_agent` signs it (`chain_id` from
    the action's signatureChainId; an absent agentName was signed as "")."""
    if not 0 <= chain_id < 2**256 or not 0 <= nonce < 2**64:
        raise ValueError("chainId or nonce out of range")
    struct_hash = keccak(
        APPROVE_AGENT_TYPE_HASH
        + keccak(chain.encode())
        + bytes(12)
        + bytes.fromhex(agent.removeprefix("0x"))
        + keccak(name.encode())
        + nonce.to_bytes(32, "big")
    )
    return keccak(b"\x19\x01" + user_domain_separator(chain_id) + struct_hash)


class SignatureError(ValueError):
    """The signature is malformed (cannot be parsed or recovered at all)."""


def action_hash(action: Any, vault_address: str | None, nonce: int, expires_after: int | None) -> bytes:
    """keccak(msgpack(action) | nonce | vault flag[+address] | [0x00 + expiresAfter]), action hashed as received."""
    data = msgpack.packb(action) + nonce.to_bytes(8, "big")
    if vault_address is None:
        data += b"\x00"
    else:
        data += b"\x01" + bytes.fromhex(vault_address.removeprefix("0x"))
    if expires_after is not None:
        data += b"\x00" + expires_after.to_bytes(8, "big")
    return keccak(data)


def agent_digest(connection_id: bytes, is_mainnet: bool) -> bytes:
    """EIP-712 digest of the phantom agent {source: "a"|"b", connectionId}; equals eth_account's encode_typed_data."""
    if len(connection_id) != 32:
        raise ValueError("connectionId must be 32 bytes")
    struct_hash = keccak(AGENT_TYPE_HASH + _SOURCE_HASH[is_mainnet] + connection_id)
    return keccak(b"\x19\x01" + DOMAIN_SEPARATOR + struct_hash)


def _signature_bytes(signature: Any) -> bytes:
    """{"r","s","v"} (r and s hex, possibly short; v 27/28 or 0/1) as 65 bytes r | s | recovery id."""
    try:
        r = int(str(signature["r"]), 16)
        s = int(str(signature["s"]), 16)
        v = int(signature["v"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SignatureError("malformed signature") from exc
    if v >= 27:
        v -= 27
    if v not in (0, 1) or not (0 < r < SECP256K1_N) or not (0 < s < SECP256K1_N):
        raise SignatureError("malformed signature")
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes((v,))


def recover_signer(digest: bytes, signature: Any) -> str:
    """Lower-case address whose key made `signature` over `digest` (full public-key recovery, no cache)."""
    sig65 = _signature_bytes(signature)
    try:
        pub = PublicKey.from_signature_and_message(sig65, digest, hasher=None)
    except ValueError as exc:
        raise SignatureError("unrecoverable signature") from exc
    return "0x" + keccak(pub.format(compressed=False)[1:])[-20:].hex()


class NonceTracker:
    """Per-signer nonce rules: unique, above the smallest of the 100 highest, within (now - 2 d, now + 1 d)."""

    WINDOW = 100
    PAST_MS = 2 * 86_400_000
    FUTURE_MS = 86_400_000

    def __init__(self) -> None:
        self._seen: dict[str, list[int]] = {}  # min-heap of the signer's highest nonces
        self._sets: dict[str, set[int]] = {}

    def check_and_use(self, signer: str, nonce: int, now_ms: int) -> str | None:
        """Record `nonce`; return the real API's error text when it is refused, else None."""
        if not (now_ms - self.PAST_MS < nonce < now_ms + self.FUTURE_MS):
            return f"Invalid nonce: nonce {nonce} is outside the allowed time window"
        heap = self._seen.setdefault(signer, [])
        used = self._sets.setdefault(signer, set())
        if nonce in used:
            return f"Invalid nonce: duplicate nonce {nonce}"
        if len(heap) >= self.WINDOW and nonce <= heap[0]:
            return f"Invalid nonce: nonce {nonce} is too low"
        heapq.heappush(heap, nonce)
        used.add(nonce)
        if len(heap) > self.WINDOW:
            used.discard(heapq.heappop(heap))
        return None

    def record(self, signer: str, nonce: int) -> None:
        """Mark `nonce` used without the time-window check (journal replay of an accepted action)."""
        heap = self._seen.setdefault(signer, [])
        used = self._sets.setdefault(signer, set())
        if nonce in used:
            return
        heapq.heappush(heap, nonce)
        used.add(nonce)
        if len(heap) > self.WINDOW:
            used.discard(heapq.heappop(heap))

    def to_json(self) -> dict[str, list[int]]:
        return {k: sorted(v) for k, v in self._seen.items()}

    def load_json(self, data: dict[str, list[int]]) -> None:
        self._seen = {k: sorted(int(x) for x in v) for k, v in data.items()}  # a sorted list is a valid heap
        self._sets = {k: set(v) for k, v in self._seen.items()}
