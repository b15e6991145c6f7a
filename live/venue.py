"""Which venue, and the SDK clients the trader talks to it through (built by `backtest.venue`).

Modes: `paper` (a loopback paper exchange: no key, a throwaway wallet funded there), `testnet` and `mainnet` (the
real venues: a key from the environment or `.env`, and the safety checks of `check_real_venue`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backtest.venue.feed import SdkFeed
from backtest.venue.fees import FeeSchedule, fetch_schedule
from backtest.venue.ratelimit import REST_WEIGHT_PER_MINUTE, WeightBudget
from backtest.venue.retry import RetryPolicy
from backtest.venue.rules import AssetRules, rules_from_meta
from backtest.venue.sdk import MAINNET_URL, is_loopback, is_mainnet, make_exchange, make_info
from live.feed import BarFeed
from live.keys import Signer

MODES = ("paper", "testnet", "mainnet")


class VenueError(ValueError):
    """The venue cannot be used as asked (the message says what is missing and what to do)."""


def base_url_for(mode: str, params: Any, paper_url: str | None = None) -> str:
    """The URL a mode trades against: the paper exchange's, the testnet's from params, or mainnet's."""
    if mode == "paper":
        if not paper_url:
            raise VenueError("paper mode needs a paper exchange URL")
        if not is_loopback(paper_url):
            raise VenueError(f"paper mode trades only against a paper exchange on this machine, not {paper_url}")
        return paper_url
    if mode == "testnet":
        return params.live.testnet_url
    if mode == "mainnet":
        return MAINNET_URL
    raise VenueError(f"unknown mode {mode!r}; allowed: {MODES}")


def check_real_venue(
    mode: str, entry: dict[str, Any] | None, key_present: bool, confirmed: bool, key_error: str | None = None
) -> list[str]:
    """Why trading on a real venue must be refused (empty when allowed). Paper is always allowed. `key_error` is
    what `live.keys.load_signer` said when the key is there but malformed (it never contains the key)."""
    if mode == "paper":
        return []
    problems = []
    if entry is None:
        problems.append(
            "no promoted policy: a real venue trades only a registry entry promoted for live use "
            "(python -m rl.registry promote ID --for-live)"
        )
    else:
        gate = entry.get("gate") or {}
        live_ok = bool(gate.get("passed")) and bool(gate.get("for_live"))
        if not live_ok:
            problems.append(
                f"{entry.get('id')} has not passed the gate for live use (real bars required): "
                f"python -m rl.registry promote {entry.get('id')} --for-live"
            )
    if not key_present:
        problems.append(
            key_error or "no signing key: set AML100_PRIVATE_KEY in the environment or .env (an API wallet's key)"
        )
    if mode == "mainnet" and not confirmed:
        problems.append("mainnet trades real money: add --confirm-mainnet to say you mean it")
    return problems


@dataclass
class VenueSession:
    """The SDK clients for one account and coin: REST `info`, `exchange`, the candle feed, the asset's rules."""

    base_url: str
    coin: str
    dex: str
    signer: Signer
    info: Any
    exchange: Any
    feed: BarFeed
    rules: AssetRules
    fees: FeeSchedule | None = None  # what the venue says it charges this account on this coin (None: no answer)

    @property
    def account(self) -> str:
        return self.signer.account.lower()


def connect_venue(
    base_url: str,
    coin: str,
    dex: str,
    signer: Signer,
    timeout_s: float,
    interval: str,
    stale_after_s: float,
    time_scale: float = 1.0,
    source: str = "hyperliquid",
    policy: RetryPolicy | None = None,
) -> VenueSession:
    """Build the SDK clients (retrying connection errors), read the coin's rules from `meta` and what the venue
    charges this account (`userFees`, `perpDexs`, `meta`: `backtest.venue.fees`). `interval` and `stale_after_s` are
    backtest.interval and live.stale_feed_seconds."""
    policy = policy or RetryPolicy(max_attempts=5, base_delay_s=0.5, max_delay_s=8.0)
    info = make_info(base_url, dex, timeout_s, skip_ws=True, policy=policy)
    if coin not in info.name_to_coin:
        raise VenueError(f"{coin} is not listed on {base_url} (dex {dex!r}); check market.coin and market.dex")
    asset = info.name_to_asset(coin)
    rules = rules_from_meta(info.meta(dex), coin, asset)
    fees = read_fees(info, coin, signer.account, base_url, policy)
    exchange = make_exchange(
        signer.wallet,
        base_url,
        dex,
        timeout_s,
        account_address=None if not signer.is_agent else signer.account,
        policy=policy,
    )
    feed = BarFeed(
        lambda: SdkFeed(base_url, dex, timeout_s, policy=policy),
        coin,
        interval,
        stale_after_s=stale_after_s,
        time_scale=time_scale,
        source=source,
        budget=WeightBudget(capacity=REST_WEIGHT_PER_MINUTE * max(1.0, time_scale)),
        rest_factory=lambda: make_info(base_url, dex, timeout_s, skip_ws=True, policy=policy),
    )
    return VenueSession(base_url, coin, dex, signer, info, exchange, feed, rules, fees)


def read_fees(info: Any, coin: str, account: str, base_url: str, policy: RetryPolicy) -> FeeSchedule | None:
    """The venue's fee schedule for this account and coin, or None (logged) when it does not answer: the trader then
    charges what a backtest would (`backtest.venue.fees.resolve_fees`) and says so."""
    import logging

    from backtest.venue.retry import call_with_retry

    try:
        sched, _ = call_with_retry(lambda: fetch_schedule(info, coin, account.lower(), base_url), "userFees", policy)
        return sched
    except Exception as exc:  # a venue without userFees, or an unexpected answer: the trader must still start
        logging.getLogger(__name__).warning("the venue did not say its fees (%s: %s)", type(exc).__name__, exc)
        return None


def describe_url(base_url: str) -> str:
    if is_mainnet(base_url):
        return f"{base_url} (MAINNET)"
    if is_loopback(base_url):
        return f"{base_url} (paper, loopback)"
    return base_url
