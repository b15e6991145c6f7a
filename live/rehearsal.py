"""Rehearse a strategy live, at full speed: a manual-clock paper exchange in this process, the real Trader against
it through the unmodified SDK, bar by bar; then replay the session through the backtester.

    python -m live.rehearsal --strategy rules --bars 300       # or ppo | dqn | ensemble | a checkpoint path

The paper exchange replays each 1m bar as 4 points (open, low/high, high/low, close). `advance()` moves the replay to
the close of the current bar and then one point on, to the next bar's open: the candle of the new bar closes the
previous one, the trader decides at that close and its orders fill at the new bar's open, as in the simulator. The
paper exchange charges its stock fee schedule (the venue's: HIP-3 standard on xyz, `backtest/venue/fees.py`); the
trader reads it from the venue (`userFees`, `perpDexs`, `meta`) and journals it, and the replay charges the same. The
paper exchange's spread is the simulator's slippage (`matched_paper_config`) and the simulator runs without what the
paper exchange lacks (`MATCHED`: no latency, no funding), so fills differ from the simulator's only by the venue's
tick and lot rounding. Tests, the latency benchmark and `python -m live.rehearsal` all use this rig.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from backtest.config import Objectives, Override, Params, load_objectives, load_params
from backtest.data.synth import generate_bars
from backtest.strategies.base import Strategy
from backtest.venue.calendar import calendar_for
from backtest.venue.ratelimit import WeightBudget
from backtest.venue.rules import round_prices, rules_for
from live.journal import Journal
from live.keys import Redactor, Signer, paper_wallet
from live.paper_exchange.config import FaultConfig, PaperExchangeConfig
from live.paper_exchange.server import ServerHandle, start_in_thread
from live.trader import Trader, TraderIdentity
from live.venue import connect_venue

# what the paper exchange cannot reproduce is switched off in the simulator: no latency, no funding (its half-spread
# is set from backtest.slippage_pct: matched_paper_config). Fees are not here: both sides charge the venue's schedule.
MATCHED = [
    "backtest.latency_ms=[0, 0]",
    "backtest.funding_rate_hourly=0.0",
]


def rig_overrides(texts: list[str]) -> list[Override]:
    """The rehearsal's own settings, named as such when one is refused (not as a --set the user never typed)."""
    return [Override(t, f"the rehearsal's setting {t}") for t in texts]


def synthetic_bars(n: int, params: Params, seed: int = 11) -> pd.DataFrame:
    """Synthetic 1m bars (the market's session calendar: quiet off-session stretches) with prices on the venue's tick
    (the rules table's `sz_decimals` for the coin), as a real venue's trades are: the
    paper exchange then trades at the very prices its candles show the trader and the replay (a post-only order's
    limit is priced off the book at the open, exactly as the simulator prices it)."""
    start = pd.Timestamp("2026-03-02 00:00", tz="UTC")
    calendar = calendar_for(params.market.coin)
    bars = generate_bars(n, params.synth, start=start, interval_s=60, seed=seed, calendar=calendar)
    sz_decimals = rules_for(params.market.coin).sz_decimals
    for col in ("open", "high", "low", "close"):
        bars[col] = round_prices(bars[col].to_numpy(), sz_decimals)
    return bars


def matched_paper_config(params: Params, history: int, **kw) -> PaperExchangeConfig:
    """A manual-clock paper exchange with the simulator's spread (2 x slippage), no funding, and its own, stock fee
    schedule: the backtest matches the venue's fees, never the venue the backtest's."""
    return PaperExchangeConfig(
        port=0,
        speed=0.0,
        history_bars=history,
        spread_bps=2 * params.backtest.slippage_pct * 100,
        funding_rate_hourly=0.0,
        **kw,
    )


@dataclass
class Rig:
    params: Params
    objectives: Objectives
    bars: pd.DataFrame
    server: ServerHandle
    trader: Trader
    root: Path
    history: int
    decisions: list = field(default_factory=list)

    @property
    def exchange(self):
        return self.server.exchange

    def advance(self, timeout: float = 5.0) -> list:
        """Close the current bar and open the next; let the trader handle the close. Returns its decisions."""
        px = self.server.exchange
        self.server.step(3 - px.feed.point)  # to the close of the current bar
        self.server.step(1)  # the next bar opens: its candle closes the previous one
        got: list = []
        for _ in range(int(timeout / 0.05)):
            got += self.trader.step(0.05)
            if got:
                break
        self.decisions += got
        return got

    def stop(self) -> None:
        if not self.trader.stopped:
            self.trader.shutdown(flatten=False)
        self.server.stop()


def make_rig(
    tmp: Path,
    strategy_factory,
    overrides: list[str] | None = None,
    n_bars: int = 1500,
    history: int = 600,
    faults: FaultConfig | None = None,
    bars: pd.DataFrame | None = None,
    fund: float | None = None,
    state_path: str | None = None,
    time_scale: float = 1.0,
    signer_for: Callable[[ServerHandle, Signer], Signer] | None = None,
    policy_id: str = "test-policy",
    strategy_spec: str = "rules",
) -> Rig:
    """A started trader on a fresh manual-clock paper exchange with a funded paper wallet; `signer_for(server,
    master)` may return another signer, e.g. an API wallet it approved to trade for the master. The wallet gets `fund`
    USD (default live.paper_fund_usd); the coin is market.coin (the paper exchange lists xyz:XYZ100, BTC and ETH)."""
    settings = [
        *MATCHED,
        f"backtest.warmup_bars={history}",
        "backtest.chunk_size=100000",
        f"live.history_bars={history}",
        f"live.journal_dir={tmp / 'live'}",
        f"live.emergency_stop_file={tmp / 'EMERGENCY_STOP'}",
        "live.order_timeout_s=2.0",
    ]
    params = load_params(overrides=[*rig_overrides(settings), *(overrides or [])])
    objectives = load_objectives()
    bars = synthetic_bars(n_bars, params) if bars is None else bars
    coin, dex = params.market.coin, params.market.dex
    master = paper_wallet(coin, 1)
    usd = params.live.paper_fund_usd if fund is None else fund
    cfg = matched_paper_config(params, history, fund=((master.account.lower(), usd),), faults=faults or FaultConfig(),
                               state_path=state_path)  # fmt: skip
    server = start_in_thread(cfg, bars=bars)
    try:
        signer = signer_for(server, master) if signer_for is not None else master
        venue = connect_venue(server.url, coin, dex, signer, params.live.order_timeout_s, params.backtest.interval,
                              params.live.stale_feed_seconds, time_scale=time_scale, source="paper")  # fmt: skip
        venue.feed.budget = WeightBudget(capacity=1e9)  # bars pass far faster than real time here: no REST budget
        journal = Journal(tmp / "live", redactor=Redactor.for_signer(signer))
        strategy: Strategy = strategy_factory(params)
        ident = TraderIdentity("paper", coin, signer.account.lower(), policy_id, strategy.name, server.url,
                               strategy_spec)  # fmt: skip
        trader = Trader(ident, params, objectives, strategy, venue, journal)
        trader.start()
    except BaseException:  # a strategy that does not load, a venue that does not answer: no exchange left running
        server.stop()
        raise
    return Rig(params, objectives, bars, server, trader, tmp / "live", history)


def at_least(low: int, flag: str) -> Callable[[str], int]:
    """An argparse type: a whole number >= `low`; the error names the flag, the value and the bound."""
    import argparse

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} expects a whole number >= {low}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{flag} expects a whole number >= {low}, got {value}")
        return value

    return parse


def main(argv: list[str] | None = None) -> int:
    import argparse
    import time
    from datetime import UTC, datetime

    from backtest.cli import add_config_args
    from backtest.strategies.registry import resolve_strategy
    from live.replay import replay, sessions
    from live.service import journal_base

    ap = argparse.ArgumentParser(
        prog="python -m live.rehearsal",
        description="Trade a strategy on a loopback paper exchange at full speed (synthetic bars, the venue's fee "
        "schedule), then replay the session through the backtester and compare decisions, fills and fees.",
    )
    ap.add_argument("--strategy", default="rules", help="rules | buyhold | ppo | dqn | ensemble | checkpoint path")
    ap.add_argument("--bars", type=at_least(2, "--bars"), default=300, help="bars to trade, at least 2 (default 300)")
    ap.add_argument("--history", type=at_least(2, "--history"), default=600,
                    help="warm-up bars before the first decision, at least 2 (default 600)")  # fmt: skip
    ap.add_argument("--seed", type=int, default=11, help="synthetic bars' seed")
    ap.add_argument("--out", type=Path, help="folder (default <live.journal_dir>/rehearsals/<time>-<strategy>)")
    add_config_args(ap)
    args = ap.parse_args(argv)
    params = load_params(args.config, [*rig_overrides(MATCHED), *args.overrides])
    slug = "".join(c if c.isalnum() else "-" for c in Path(args.strategy).name)[:30]
    out = args.out or journal_base(params) / "rehearsals" / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{slug}"
    bars = synthetic_bars(args.history + args.bars + 10, params, seed=args.seed)
    t0 = time.perf_counter()
    rig = make_rig(out, lambda p: resolve_strategy(args.strategy, p), list(args.overrides), history=args.history,
                   bars=bars, policy_id=f"rehearsal:{slug}", strategy_spec=args.strategy)  # fmt: skip
    try:
        for _ in range(args.bars):
            rig.advance()
    finally:
        rig.stop()
    took = time.perf_counter() - t0
    report = replay(sessions(rig.root)[-1], args.strategy, rig.params, rig.objectives)
    print(f"rehearsed {args.strategy} for {args.bars} bars on the paper exchange in {took:.1f} s; journal {rig.root}")
    print(report.table())
    return 0 if report.agrees else 1


if __name__ == "__main__":
    from backtest.cli import run_main

    run_main(main)
