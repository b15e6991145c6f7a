"""Does it learn? PPO and DQN on synthetic data with the planted edge vs a pure random walk (edge off).

    python -m bench.bench_learning [--minutes 10] [--days 30] [--algos ppo dqn] [--set k=v ...] [--out DIR]

For each data kind, each algorithm trains for `--minutes` of wall clock (validation early stopping as in
rl/train.py); the best checkpoint is then backtested on the TEST split (never trained or selected on) through the
backtester's runner (the path of `python -m backtest`, global drawdown halt included), after fees and slippage, next
to the RSI/MACD rules strategy and the PPO + DQN ensemble on the same span. Prints a markdown table
with Sharpe, return, trades, HOLD rate and win rate. Not a CI test: figures depend on the budget and the machine.

The bench settings (BENCH_SETS, overridable with --set) make the planted edge large enough to pay the default costs
(0.2 % of notional per round trip): a 2 bps trend drift with AR(1) 0.5 inside trend regimes, and no max-hold timeout
(the default 60 s would force one-bar trades that no 1-minute edge can pay for), and a learning rate of 3e-4
(1e-4 barely moved the policy in a 10-minute budget). Iterations are ITER_STEPS env steps.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")


from backtest.config import Params, load_params
from rl import checkpoint as ck
from rl.data import Prepared, prepare
from rl.evaluate import evaluate, span_result
from rl.policy import RLPolicyStrategy
from rl.train import train_one

BENCH_SETS = [
    "synth.edge.strength=0.5",
    "synth.trend_drift_bps=2.0",
    "trading.max_hold_seconds=0",
    "rl.learning_rate=0.0003",
]
ITER_STEPS = 4000
BIG = 10**12


def rules_metrics(prepared: Prepared, params: Params, split: str = "test") -> dict:
    """The rules strategy on the same span, through the backtester's runner."""
    from backtest.metrics import compute_metrics

    return compute_metrics(span_result("rules", prepared, params, prepared.splits.span(split)))


def ensemble_metrics(checkpoints: list[Path], prepared: Prepared, params: Params, split: str = "test") -> dict:
    """The PPO + DQN ensemble (vote, rules fallback, ties -> HOLD) on `split`, through the backtester's runner."""
    from backtest.metrics import compute_metrics
    from backtest.strategies.rules import RulesStrategy
    from rl.ensemble import EnsembleStrategy

    members = [RLPolicyStrategy.from_checkpoint(c, params) for c in checkpoints]
    rules = RulesStrategy(params.trading)
    ens = EnsembleStrategy(members, params.trading.signal_threshold, rules, feature_names=members[0].feature_names)
    return compute_metrics(span_result(ens, prepared, params, prepared.splits.span(split)))


def row(data: str, name: str, m: dict, minutes: str = "", steps: str = "") -> str:
    return (
        f"| {data} | {name} | {m['sharpe']:.2f} | {m['total_return_pct']:.2f} | {m['n_trades']} | "
        f"{m['hold_rate_pct']:.1f} | {m['win_rate_pct']:.1f} | {m['max_drawdown_pct']:.2f} | {minutes} | {steps} |"
    )


def ensemble_only(run_root: Path, days: float, extra_sets: list[str]) -> None:
    """Rows for the ensemble of the newest PPO and DQN checkpoints already under `run_root`/{edge,walk}."""
    for edge in (True, False):
        params = load_params(overrides=[*BENCH_SETS, f"synth.edge.enabled={str(edge).lower()}", *extra_sets])
        root = run_root / ("edge" if edge else "walk")
        bests = [ck.latest(root, algo) for algo in ("ppo", "dqn")]
        if all(bests):
            m = ensemble_metrics(bests, prepare(params, "synthetic", days), params)
            print(row("edge" if edge else "random walk", "ensemble", m))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="training wall clock per algorithm and data kind")
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--algos", nargs="+", default=["ppo", "dqn"], choices=["ppo", "dqn"])
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--out", default="runs/bench_learning")
    ap.add_argument("--ensemble-only", action="store_true", help="only score the ensemble of runs already in --out")
    args = ap.parse_args(argv)
    if args.ensemble_only:
        ensemble_only(Path(args.out), args.days, args.set)
        return
    lines = []
    for edge in (True, False):
        data = "edge" if edge else "random walk"
        params = load_params(overrides=[*BENCH_SETS, f"synth.edge.enabled={str(edge).lower()}", *args.set])
        prepared = prepare(params, "synthetic", args.days)
        lines.append(row(data, "rules", rules_metrics(prepared, params)))
        bests = []
        for algo in args.algos:
            t0 = time.perf_counter()
            out = Path(args.out) / ("edge" if edge else "walk")
            best = train_one(
                algo, params, BIG, "synthetic", args.days, out, iter_steps=ITER_STEPS, max_seconds=args.minutes * 60.0
            )
            minutes = (time.perf_counter() - t0) / 60.0
            bests.append(best)
            meta = ck.read_metadata(best)
            strategy = RLPolicyStrategy.from_checkpoint(best, params)
            m = evaluate(strategy, prepared, params, "test")
            lines.append(row(data, algo, m, f"{minutes:.1f}", str(meta["timesteps"])))
            print("\n".join(lines[-1:]), flush=True)
        if len(bests) > 1:
            lines.append(row(data, "ensemble", ensemble_metrics(bests, prepared, params)))
    rl = load_params().rl
    test_share = 1 - rl.train_fraction - rl.validation_fraction
    print(f"\n{args.days:g} days of synthetic 1m bars; test = last {test_share:.0%} of bars; settings {BENCH_SETS}")
    print("\n| data | strategy | test Sharpe | return % | trades | HOLD % | win % | max DD % | train min | steps |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
