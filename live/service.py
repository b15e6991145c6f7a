"""Putting a trader together: which strategy (the promoted policy, the rules, or a path), which parameters, which
venue and account, where its journal lives. Used by the command line, the Ray actor and the tests alike.

The parameters a promoted policy trades with are the ones it was validated with (the registry entry's tuned params
file, or its checkpoint's config) for the `trading` and `backtest` sections; `market`, `live` and `paper_exchange`
stay the operator's (configs/params.yaml and --set).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from backtest.config import REPO_ROOT, Objectives, Params, load_params, objectives_from_dict, params_from_dict
from backtest.strategies.base import Strategy
from backtest.strategies.registry import resolve_strategy
from live.journal import Journal
from live.keys import Redactor, Signer, load_signer, paper_wallet
from live.lock import LockHeld, TraderLock
from live.lock import acquire_trader_lock as acquire_venue_lock
from live.trader import Trader, TraderIdentity
from live.venue import base_url_for, check_real_venue, connect_venue

OPERATOR_SECTIONS = ("market", "live", "paper_exchange")
PAPER_WALLET_SEED = 1


class ServiceError(ValueError):
    """The trader cannot start as asked; the message says what to do."""


def coin_slug(coin: str) -> str:
    return coin.replace(":", "_").replace("/", "_")


def journal_base(params: Params) -> Path:
    base = Path(params.live.journal_dir)
    return base if base.is_absolute() else REPO_ROOT / base


def journal_root(params: Params, coin: str, account: str) -> Path:
    """`<live.journal_dir>/<coin slug>/<account>/`: one folder per coin and account."""
    return journal_base(params) / coin_slug(coin) / account.lower()


def actor_name(coin: str) -> str:
    """The Ray actor's name (namespace aml100): one live trader per coin on a cluster."""
    return f"live-{coin_slug(coin)}"


@dataclass
class StrategyChoice:
    """What to trade: a loadable spec, its registry entry (if any) and the parameters it trades with."""

    spec: str
    policy_id: str
    params: Params
    entry: dict[str, Any] | None = None


def choose_strategy(spec: str, params: Params, registry_root: str | Path | None = None) -> StrategyChoice:
    """Resolve `--strategy`: "promoted" (default) -> the registry's promoted entry for the coin; anything else is a
    strategy spec (`rules`, `buyhold`, a checkpoint or manifest path, `package.module:Class`)."""
    if spec != "promoted":
        return StrategyChoice(spec, spec if spec in ("rules", "buyhold") else Path(spec).name or spec, params)
    from rl.registry import promoted

    entry = promoted(params.market.coin, registry_root)
    if entry is None:
        raise ServiceError(
            f"no policy is promoted for {params.market.coin}. Promote one with `python -m rl.registry promote ID` "
            "(`python -m rl.registry list` shows the candidates; `make run` or `python -m rl.tune` makes some), "
            "or trade the rules with `--strategy rules`."
        )
    return StrategyChoice(entry_spec(entry), entry["id"], entry_params(entry, params), entry)


def entry_spec(entry: dict[str, Any]) -> str:
    if entry["kind"] == "rules-params":
        return "rules"
    return str(entry["checkpoint"])


def entry_params(entry: dict[str, Any], current: Params) -> Params:
    """The validated trading/backtest sections of an entry, the operator's market/live/paper_exchange sections."""
    meta = entry.get("metadata") or {}
    data: dict[str, Any] | None = None
    params_file = meta.get("params_file") or (entry["checkpoint"] if entry["kind"] == "rules-params" else None)
    if params_file and Path(params_file).is_file():
        data = load_params(params_file).model_dump(mode="json")
    elif isinstance(meta.get("config"), dict):
        data = dict(meta["config"])
    if data is None:
        return current
    mine = current.model_dump(mode="json")
    for section in OPERATOR_SECTIONS:
        data[section] = mine[section]
    return params_from_dict(data, f"registry entry {entry['id']}")


@dataclass
class ServiceSettings:
    """Everything needed to build a trader in any process (plain data: it travels to a Ray actor)."""

    mode: str
    base_url: str
    strategy_spec: str
    policy_id: str
    params: dict[str, Any]
    objectives: dict[str, Any]
    time_scale: float = 1.0
    signer_source: str = "paper"  # "paper" (derived throwaway wallet) | "env" (AML100_PRIVATE_KEY / .env)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ServiceSettings:
        return cls(**d)


def signer_for(settings: ServiceSettings) -> Signer:
    params = params_from_dict(settings.params)
    if settings.signer_source == "paper":
        return paper_wallet(params.market.coin, PAPER_WALLET_SEED)
    return load_signer(dotenv=REPO_ROOT / ".env")


def ensure_paper_funds(base_url: str, account: str, usd: float) -> bool:
    """Fund a paper account that has no money yet (loopback admin endpoint); True when it funded."""
    import requests

    from backtest.venue.sdk import is_loopback

    if not is_loopback(base_url):
        raise ServiceError("refusing to fund an account on a non-loopback exchange")
    state = requests.post(f"{base_url}/info", json={"type": "clearinghouseState", "user": account}, timeout=5).json()
    value = float(((state or {}).get("marginSummary") or {}).get("accountValue", 0) or 0)
    if value > 0:
        return False
    r = requests.post(f"{base_url}/admin/fund", json={"address": account, "usd": usd}, timeout=5)
    r.raise_for_status()
    return True


@dataclass
class HeldLocks:
    """The two locks a running trader holds: its venue, account and coin (`live.lock`: on this machine and on a Ray
    cluster) and its journal folder (two traders never write one journal). The OS and Ray drop them if it dies."""

    venue: TraderLock
    folder: Any

    def release(self) -> None:
        self.folder.release()
        self.venue.release()


def running_trader_text(holder: dict[str, Any], coin: str, account: str, base_url: str) -> str:
    """The refusal a second trader gets: who runs, where, and how to see or stop it."""
    import time

    started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime((holder.get("started_ms") or 0) / 1000))
    base = holder.get("journal_dir")
    flag = f" --set live.journal_dir={base}" if base else ""
    return (
        f"a live trader for {coin} on account {account} at {base_url} is already running: pid {holder.get('pid')} "
        f"on {holder.get('host', '?')}, policy {holder.get('policy_id')}, started {started} UTC, journal "
        f"{holder.get('journal', '?')} ({holder.get('where', 'lock')}). One trader per venue, account and coin: "
        f"`python -m live.serve status{flag}` shows it, `python -m live.serve stop{flag}` stops it."
    )


def acquire_trader_lock(settings: ServiceSettings, journal_dir: str | Path | None = None) -> HeldLocks:
    """The locks a trader holds while it runs (see `HeldLocks`): one trader per venue, account and coin wherever it
    runs, and one per journal folder. ServiceError names the running one when either is taken."""
    import time

    from filelock import FileLock, Timeout

    from live.journal import read_status

    params = params_from_dict(settings.params)
    coin, account = params.market.coin, signer_for(settings).account.lower()
    root = Path(journal_dir) if journal_dir else journal_root(params, coin, account)
    holder = {"journal": str(root), "journal_dir": None if journal_dir else str(journal_base(params)),
              "policy_id": settings.policy_id, "mode": settings.mode}  # fmt: skip
    try:
        venue_lock = acquire_venue_lock(settings.base_url, account, coin, holder)
    except LockHeld as exc:
        raise ServiceError(running_trader_text(exc.holder, coin, account, settings.base_url)) from None
    root.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(root / "trader.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        venue_lock.release()
        st = read_status(root) or {}
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(st.get("started_ms", 0) / 1000))
        raise ServiceError(
            f"a live trader already writes the journal {root} (pid {st.get('pid')}, {st.get('base_url')}, policy "
            f"{st.get('policy_id')}, started {started} UTC): one trader per journal folder. "
            "`python -m live.serve status` shows it, `python -m live.serve stop` stops it."
        ) from None
    return HeldLocks(venue_lock, lock)


def load_strategy_for(settings: ServiceSettings) -> Strategy:
    """The strategy of `settings`, loaded here (in the driver): the object travels to the trader's actor, which then
    never opens the checkpoint's files (its node may not have them)."""
    return resolve_strategy(settings.strategy_spec, params_from_dict(settings.params))


def build_trader(
    settings: ServiceSettings, journal_dir: str | Path | None = None, strategy: Strategy | None = None
) -> Trader:
    """The trader for `settings`: strategy loaded (or the one given, already loaded by the caller), venue
    connected, journal opened (not started yet)."""
    params = params_from_dict(settings.params)
    objectives: Objectives = objectives_from_dict(settings.objectives)
    signer = signer_for(settings)
    coin, dex = params.market.coin, params.market.dex
    if settings.mode == "paper":
        ensure_paper_funds(settings.base_url, signer.account, params.live.paper_fund_usd)
    if strategy is None:
        strategy = resolve_strategy(settings.strategy_spec, params)
    venue = connect_venue(
        settings.base_url,
        coin,
        dex,
        signer,
        params.market.request_timeout_s if settings.mode != "paper" else params.live.order_timeout_s,
        interval=params.backtest.interval,
        stale_after_s=params.live.stale_feed_seconds,
        time_scale=settings.time_scale,
        source="paper" if settings.mode == "paper" else "hyperliquid",
    )
    root = Path(journal_dir) if journal_dir else journal_root(params, coin, signer.account)
    journal = Journal(root, redactor=Redactor.for_signer(signer))
    ident = TraderIdentity(
        settings.mode, coin, signer.account.lower(), settings.policy_id, strategy.name, settings.base_url,
        settings.strategy_spec,
    )  # fmt: skip
    return Trader(ident, params, objectives, strategy, venue, journal)


def prepare_settings(
    mode: str,
    strategy: str,
    params: Params,
    objectives: Objectives,
    paper_url: str | None,
    confirm_mainnet: bool = False,
    registry_root: str | Path | None = None,
    time_scale: float = 1.0,
) -> ServiceSettings:
    """Everything checked at the door: the strategy resolves, a real venue is allowed, the key exists."""
    try:
        choice = choose_strategy(strategy, params, registry_root)
    except ServiceError as exc:
        if mode != "paper" or strategy != "promoted":
            raise
        # paper only: say so loudly, then rehearse with the rules (a real venue refuses instead)
        print(f"note: {exc}\nnote: paper trading the RSI/MACD rules meanwhile (policy id 'rules').", flush=True)
        choice = StrategyChoice("rules", "rules", params)
    resolve_strategy(choice.spec, choice.params)  # fail fast on a spec that does not load
    signer_source = "paper" if mode == "paper" else "env"
    key_error = None
    if mode != "paper":
        try:
            load_signer(dotenv=REPO_ROOT / ".env")
        except ValueError as exc:  # missing or malformed: the message says which, never the key
            key_error = str(exc)
    problems = check_real_venue(mode, choice.entry, key_error is None, confirm_mainnet, key_error)
    if problems:
        raise ServiceError(f"refusing to trade on {mode}:\n  - " + "\n  - ".join(problems))
    return ServiceSettings(
        mode=mode,
        base_url=base_url_for(mode, params, paper_url),
        strategy_spec=choice.spec,
        policy_id=choice.policy_id,
        params=choice.params.model_dump(mode="json"),
        objectives=objectives.model_dump(mode="json"),
        time_scale=time_scale,
        signer_source=signer_source,
    )


def describe(settings: ServiceSettings) -> str:
    p = params_from_dict(settings.params)
    return json.dumps(
        {"mode": settings.mode, "coin": p.market.coin, "base_url": settings.base_url, "policy": settings.policy_id},
    )
