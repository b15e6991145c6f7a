"""Building the SDK's clients: the one place that knows which URL is which venue and how HIP-3 dexes are loaded."""

from __future__ import annotations

from typing import Any

from backtest.venue.retry import RetryPolicy, call_with_retry

MAINNET_URL = "https://api.hyperliquid.xyz"
TESTNET_URL = "https://api.hyperliquid-testnet.xyz"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def is_mainnet(base_url: str) -> bool:
    """The SDK signs for mainnet (source "a") only for exactly this URL; every other URL signs as testnet."""
    return base_url.rstrip("/") == MAINNET_URL


def is_loopback(base_url: str) -> bool:
    """True for a paper exchange (or any server) on this machine."""
    host = base_url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def perp_dexs_for(dex: str) -> list[str] | None:
    """`perp_dexs` for the SDK: the main dex plus a builder dex (e.g. "xyz"), or None for the main dex only."""
    return ["", dex] if dex else None


def make_info(base_url: str, dex: str, timeout_s: float, skip_ws: bool = True, policy: RetryPolicy | None = None):
    """An SDK `Info` for `base_url` that knows the coins of `dex`; connection attempts are retried."""
    from hyperliquid.info import Info

    return call_with_retry(
        lambda: Info(base_url, skip_ws=skip_ws, perp_dexs=perp_dexs_for(dex), timeout=timeout_s),
        what=f"connecting to {base_url}",
        policy=policy,
    )


def make_exchange(
    wallet: Any,
    base_url: str,
    dex: str,
    timeout_s: float,
    account_address: str | None = None,
    policy: RetryPolicy | None = None,
):
    """An SDK `Exchange` signing with `wallet`; `account_address` is the master account when `wallet` is an API
    (agent) wallet."""
    from hyperliquid.exchange import Exchange

    return call_with_retry(
        lambda: Exchange(
            wallet, base_url, perp_dexs=perp_dexs_for(dex), timeout=timeout_s, account_address=account_address
        ),
        what=f"connecting to {base_url}",
        policy=policy,
    )
