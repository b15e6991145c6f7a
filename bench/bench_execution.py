"""Market vs maker execution: what a round trip costs, how often a post-only order fills, what a fill is worth.

    python -m bench.bench_execution [--days 180] [--strategies rules ppo] [--repeat 3]

1. Cost per round trip, market vs maker (entries, exits and take-profits as post-only limits at the touch), for the
   rules strategy and a trained policy (`ppo`, the `make run` checkpoint), on the default data (synthetic, 180 days)
   under two fee schedules of the venue (`backtest/venue/fees.py`): the market's default, standard HIP-3 at base
   tier 0 (taker 0.09 %, maker 0.03 %), and the same market in HIP-3 growth mode (90 % off: 0.009 % / 0.003 %).
   Each row is a full `run_backtest` (the path of `python -m backtest`), with its fill rate, markout after
   `execution.adverse_bars` bars and total return.
2. The simulator core with maker orders on: `run_signals` on 1,000,000 bars with maker entries and exits, timed back
   to back with the market core (bench_simulator's series and entries); the ratio's target is <= 1.5.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np

from backtest.config import load_objectives, load_params, with_overrides


def _growth_mode() -> list[str]:
    """Overrides for the market's schedule in growth mode: the venue's tier-0 HIP-3 rates x its growth-mode factor."""
    from backtest.venue.fees import BASE_TIERS, GROWTH_MODE_FACTOR, STANDARD_DEPLOYER_FEE_SCALE, hip3_multiple

    k = hip3_multiple(STANDARD_DEPLOYER_FEE_SCALE) * GROWTH_MODE_FACTOR * 100  # fraction -> percent
    return [f"backtest.commission_pct={BASE_TIERS[0].taker * k:.6g}",
            f"backtest.maker_commission_pct={BASE_TIERS[0].maker * k:.6g}"]  # fmt: skip


# the market's default (the venue's schedule for xyz:XYZ100: standard HIP-3) and the same market in growth mode
SCHEDULES = {"HIP-3": [], "growth-mode": _growth_mode()}
STYLES = {
    "market": ["execution.entry=market", "execution.exit=market", "execution.take_profit=market"],
    "maker": ["execution.entry=maker", "execution.exit=maker", "execution.take_profit=maker"],
}


def compare(strategies: list[str], days: float = 180.0) -> list[dict]:
    """One row per (strategy, schedule, style) with cost per round trip, fills, markout and return."""
    from backtest.data.load import load_dataset
    from backtest.execution_metrics import cost_per_round_trip_bps, execution_metrics
    from backtest.features import compute_features
    from backtest.metrics import compute_metrics
    from backtest.runner import run_backtest
    from backtest.sim import Market

    base = load_params(overrides=[f"backtest.days={days:g}"])
    objectives = load_objectives(overrides=["auto_stop_drawdown=100"])  # every segment runs: costs over the span
    ds = load_dataset(base, "synthetic", days)
    features = compute_features(ds.bars, base.trading)
    market = Market.from_bars(ds.bars, base)
    rows = []
    for strategy in strategies:
        for schedule, fees in SCHEDULES.items():
            for style, sets in STYLES.items():
                params = with_overrides(base, fees + sets)
                t0 = time.process_time()
                result = run_backtest(strategy, params, objectives, market, features, ds.provenance, workers=0)
                elapsed = time.process_time() - t0
                m = compute_metrics(result)
                ex = execution_metrics(result)
                rows.append(
                    {
                        "strategy": strategy,
                        "schedule": schedule,
                        "style": style,
                        "trades": m["n_trades"],
                        "cost_bps": cost_per_round_trip_bps(result),
                        "fees": m["fees_paid"],
                        "return_pct": m["total_return_pct"],
                        "entry_fill_rate_pct": ex["entry_fill_rate_pct"],
                        "entry_markout_bps": ex["entry_markout_bps"],
                        "exit_markout_bps": ex["exit_markout_bps"],
                        "seconds": elapsed,
                    }
                )
    return rows


def measure_maker_core(n_bars: int = 1_000_000, repeat: int = 5) -> dict[str, list[float]]:
    """Seconds per repeat of the market core and the same series with maker entries and exits, interleaved."""
    from backtest.sim import run_signals
    from backtest.sim.layout import T_ENTRY_MAKER
    from bench.bench_simulator import _core_inputs

    market, sp, _, signals = _core_inputs(n_bars, 0.01)
    maker = sp._replace(entry_maker=True, exit_maker=True, entry_ttl=3)
    calls = {
        "market_s": lambda: run_signals(market, sp, signals),
        "maker_s": lambda: run_signals(market, maker, signals),
    }
    out: dict[str, list[float]] = {k: [] for k in calls}
    for fn in calls.values():
        fn()
    for _ in range(repeat):
        for key, fn in calls.items():
            t0 = time.process_time()
            fn()
            out[key].append(time.process_time() - t0)
    out["maker_trades"] = [float(np.count_nonzero(run_signals(market, maker, signals).trades[:, T_ENTRY_MAKER]))]
    return out


def _fmt(x, spec: str, unit: str = "") -> str:
    return "n/a" if x is None else format(x, spec) + unit


def table(rows: list[dict]) -> str:
    lines = [
        "| strategy | fees | style | trades | cost / round trip | fees paid | return | entry fill rate | markout "
        "entry / exit |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['strategy']} | {r['schedule']} | {r['style']} | {r['trades']:,} | {r['cost_bps']:.1f} bps | "
            f"{r['fees']:,.0f} | {r['return_pct']:+.2f} % | {_fmt(r['entry_fill_rate_pct'], '.1f', ' %')} | "
            f"{_fmt(r['entry_markout_bps'], '+.1f', ' bps')} / {_fmt(r['exit_markout_bps'], '+.1f', ' bps')} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=float, default=180.0)
    ap.add_argument("--strategies", nargs="+", default=["rules", "ppo"])
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    core = measure_maker_core(args.bars, args.repeat)
    market, maker = min(core["market_s"]), min(core["maker_s"])
    print(
        f"simulator core, {args.bars:,} bars (CPU time): market {args.bars / market / 1e6:.1f} M bars/s, maker "
        f"entries and exits {args.bars / maker / 1e6:.1f} M bars/s ({maker / market:.2f}x its time; target <= 1.5)\n"
    )
    if "ppo" in args.strategies:
        from bench.bench_backtest import ensure_checkpoints

        ensure_checkpoints()
    print(table(compare(args.strategies, args.days)))


if __name__ == "__main__":
    main()
