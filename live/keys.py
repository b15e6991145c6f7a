"""Keys: read only from the environment or `.env`, never logged, printed or written.

- `AML100_PRIVATE_KEY`: the signing key (0x + 64 hex). Prefer an API (agent) wallet's key: it can trade but not
  withdraw (approve one on the venue; see docs/LIVE.md).
- `AML100_ACCOUNT_ADDRESS`: the master account an agent key trades for (omit when the key is the account's own).

The paper exchange needs no key: `paper_wallet` derives a throwaway key from public inputs (coin, seed), the same on
every start, so a restarted trader finds its paper account again. It guards nothing of value.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

ENV_KEY = "AML100_PRIVATE_KEY"
ENV_ACCOUNT = "AML100_ACCOUNT_ADDRESS"
_HEX_KEY = re.compile(r"(0x)?[0-9a-fA-F]{64}")


class KeyError_(ValueError):
    """A key is missing or malformed (the message never contains the key)."""


@dataclass(frozen=True)
class Signer:
    """A wallet that signs, and the account it trades for (itself, or the master account of an agent wallet)."""

    wallet: LocalAccount
    account: str  # address whose positions and orders these are

    @property
    def is_agent(self) -> bool:
        return self.account.lower() != self.wallet.address.lower()

    def __repr__(self) -> str:  # never show the key
        return f"Signer(wallet={self.wallet.address}, account={self.account})"


def read_dotenv(path: str | Path) -> dict[str, str]:
    """KEY=VALUE lines of a `.env` file (comments, blank lines and `export ` prefixes allowed); {} if absent."""
    path = Path(path)
    if not path.is_file():
        return {}
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        out[key.strip()] = value.strip().strip("'\"")
    return out


def load_signer(env: dict[str, str] | None = None, dotenv: str | Path = ".env") -> Signer:
    """The signer for a real venue, from the environment first, then `.env`; clear errors without the key."""
    env = dict(os.environ if env is None else env)
    file_values = read_dotenv(dotenv)
    key = env.get(ENV_KEY) or file_values.get(ENV_KEY)
    source = "the environment" if env.get(ENV_KEY) else str(dotenv)
    account = env.get(ENV_ACCOUNT) or file_values.get(ENV_ACCOUNT)
    if not key:
        raise KeyError_(
            f"no signing key: set {ENV_KEY} in the environment or in {dotenv} (an API wallet's key is recommended)"
        )
    if not _HEX_KEY.fullmatch(key.strip()):
        raise KeyError_(
            f"{ENV_KEY} (in {source}) is malformed: not a 32-byte hex key (0x + 64 hex digits, {len(key.strip())} "
            "characters given); its value is not shown"
        )
    try:
        wallet = Account.from_key(key.strip())
    except Exception:
        raise KeyError_(
            f"{ENV_KEY} (in {source}) is malformed: not a valid secp256k1 private key; its value is not shown"
        ) from None
    if account and not re.fullmatch(r"0x[0-9a-fA-F]{40}", account.strip()):
        raise KeyError_(f"{ENV_ACCOUNT} must be an address (0x + 40 hex digits), got {account!r}")
    return Signer(wallet, (account or wallet.address).strip())


def paper_wallet(coin: str, seed: int) -> Signer:
    """A deterministic throwaway wallet for the paper exchange (derived from public inputs: not a secret)."""
    key = keccak(f"aml100-paper-wallet|{coin}|{seed}".encode())
    wallet = Account.from_key(key)
    return Signer(wallet, wallet.address)


class Redactor:
    """Replaces known secrets (the signing key, with or without 0x, any case) by *** in text bound for disk or
    screen. Hashes and other hex strings that are not secrets pass untouched."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        self._patterns = [
            re.compile(re.escape(s.lower().removeprefix("0x")), re.IGNORECASE) for s in secrets or [] if s
        ]

    @classmethod
    def for_signer(cls, signer: Signer | None) -> Redactor:
        return cls([signer.wallet.key.hex()] if signer is not None else [])

    def __call__(self, text: str) -> str:
        for pattern in self._patterns:
            text = pattern.sub("***", text)
        return text
