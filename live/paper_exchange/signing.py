"""L1 action signature verification (EIP-712 "Agent" phantom message) and per-signer nonce tracking.

The digest is built by hand (constant domain separator, one struct hash) instead of through eth_account's generic
typed-data encoder, and verified through OpenSSL against the public keys of signers already seen; only an unseen
signer costs a full (pure-Python) public-key recovery. `exact=True` recovers on every request instead.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from typing import Any

import msgpack
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature
from eth_hash.auto import keccak
from eth_keys import keys
from eth_keys.exceptions import BadSignature

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_ECDSA = ec.ECDSA(Prehashed(hashes.SHA256()))  # Prehashed only fixes the digest length (32 bytes)


def _domain_separator() -> bytes:
    type_hash = keccak(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    return keccak(
        type_hash + keccak(b"Exchange") + keccak(b"1") + (1337).to_bytes(32, "big") + bytes(32)  # address(0)
    )


DOMAIN_SEPARATOR = _domain_separator()
AGENT_TYPE_HASH = keccak(b"Agent(string source,bytes32 connectionId)")


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
    """EIP-712 digest of the phantom agent {source: "a"|"b", connectionId}."""
    source = b"a" if is_mainnet else b"b"
    struct_hash = keccak(AGENT_TYPE_HASH + keccak(source) + connection_id)
    return keccak(b"\x19\x01" + DOMAIN_SEPARATOR + struct_hash)


def _parse_signature(signature: Any) -> tuple[int, int, int]:
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
    return r, s, v


def _address_of(pub: keys.PublicKey) -> str:
    return "0x" + keccak(pub.to_bytes())[-20:].hex()


class SignerRecovery:
    """Recover the lower-case signer address of a digest; caches public keys of signers already seen."""

    def __init__(self, exact: bool = False, cache_size: int = 256, tries: int = 4) -> None:
        self.exact = exact
        self.tries = tries
        self.cache_size = cache_size
        self._keys: OrderedDict[str, ec.EllipticCurvePublicKey] = OrderedDict()

    def recover(self, digest: bytes, signature: Any, hint: str | None = None) -> str:
        r, s, v = _parse_signature(signature)
        if not self.exact:
            der = encode_dss_signature(r, s)
            for addr in self._candidates(hint):
                try:
                    self._keys[addr].verify(der, digest, _ECDSA)
                except InvalidSignature:
                    continue
                self._keys.move_to_end(addr)
                return addr
        try:
            pub = keys.Signature(vrs=(v, r, s)).recover_public_key_from_msg_hash(digest)
        except (BadSignature, ValueError) as exc:
            raise SignatureError("unrecoverable signature") from exc
        addr = _address_of(pub)
        if addr not in self._keys:
            self._keys[addr] = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), b"\x04" + pub.to_bytes())
            while len(self._keys) > self.cache_size:
                self._keys.popitem(last=False)
        self._keys.move_to_end(addr)
        return addr

    def _candidates(self, hint: str | None) -> list[str]:
        out: list[str] = []
        if hint is not None and hint in self._keys:
            out.append(hint)
        for addr in reversed(self._keys):
            if len(out) >= self.tries:
                break
            if addr != hint:
                out.append(addr)
        return out


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

    def to_json(self) -> dict[str, list[int]]:
        return {k: sorted(v) for k, v in self._seen.items()}

    def load_json(self, data: dict[str, list[int]]) -> None:
        self._seen = {k: sorted(int(x) for x in v) for k, v in data.items()}
        self._sets = {k: set(v) for k, v in self._seen.items()}
