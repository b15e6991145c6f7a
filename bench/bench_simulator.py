"""Simulator speed, side by side with vectorbt, plus the full 180-day rule backtest budget.

    python -m bench.bench_simulator [--bars 1000000] [--repeat 5]

1. Simulator core: `run_signals` on a 1,000,000-bar series with take-profit, stop-loss, fees and slippage on (and
   our latency model, max hold and drawdown halt), next to vectorbt's `Portfolio.from_signals` with sl_stop,
   tp_stop, fees and slippage on the same OHLC series and the same entry signals, both compiled and warmed up
   first; best of `--repeat` runs, one core. Prints bars per second and the ratio.
   The same series with maker entries and exits on (post-only limits resting 3 bars; bench/bench_execution.py),
   timed back to back with the market core in CPU time: the target is within 1.5x of the market core's time.
2. A full 180-day 1-minute rule-strategy backtest (load, features, simulate, metrics, report data; no Ray, no HTML
   rendering), timed warm; HTML rendering timed separately.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np

from backtest.config import load_objectives, load_params
from backtest.data.synth import generate_bars
from backtest.sim import Market, SimParams, run_signals


def _times(fn, repeat: int) -> list[float]:
    """Seconds of `repeat` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def _best(fn, repeat: int) -> float:
    return min(_times(fn, repeat))


def _core_inputs(n_bars: int, entry_rate: float):
    """The core comparison's inputs: a synthetic series, random entries, no max hold, no halt."""
    params = load_params(overrides=["trading.max_hold_seconds=0"])
    objectives = load_objectives(overrides=["auto_stop_drawdown=100"])
    sp = SimParams.from_config(params, objectives)
    market = Market.from_bars(generate_bars(n_bars, params.synth), params)
    entries = np.random.default_rng(0).random(n_bars) < entry_rate
    return market, sp, entries, np.where(entries, 1, 0).astype(np.int64)


def measure_core(n_bars: int = 1_000_000, repeat: int = 5, entry_rate: float = 0.01) -> dict[str, list[float]]:
    """Seconds per repeat of ours and of vectorbt on the same series, interleaved (each pair measured back to back,
    so their ratio is a same-moment figure); vectorbt's list is empty when it is not installed."""
    market, sp, entries, signals = _core_inputs(n_bars, entry_rate)
    ours = lambda: run_signals(market, sp, signals)  # noqa: E731
    try:
        theirs = _vectorbt_call(market, sp, entries)
    except ImportError:
        return {"ours_s": _times(ours, repeat), "vectorbt_s": []}
    ours(), theirs()
    out: dict[str, list[float]] = {"ours_s": [], "vectorbt_s": []}
    for _ in range(repeat):
        for key, fn in (("ours_s", ours), ("vectorbt_s", theirs)):
            t0 = time.perf_counter()
            fn()
            out[key].append(time.perf_counter() - t0)
    return out


def _vectorbt_call(market, sp, entries):
    import pandas as pd
    import vectorbt as vbt

    n_bars = market.n_bars
    kwargs = dict(
        close=pd.Series(market.close),
        entries=pd.Series(entries),
        exits=pd.Series(np.zeros(n_bars, dtype=bool)),
        open=pd.Series(market.open),
        high=pd.Series(market.high),
        low=pd.Series(market.low),
        sl_stop=sp.sl_frac,
        tp_stop=sp.tp_frac,
        fees=sp.taker_frac,
        slippage=sp.slip_frac,
        size=sp.size_frac,
        size_type="percent",
        init_cash=sp.initial_equity,
        freq="1min",
    )
    return lambda: vbt.Portfolio.from_signals(**kwargs)


def bench_core(n_bars: int, repeat: int, entry_rate: float) -> dict[str, float]:
    market, sp, entries, signals = _core_inputs(n_bars, entry_rate)
    ours = _best(lambda: run_signals(market, sp, signals), repeat)
    n_trades = len(run_signals(market, sp, signals).trades)
    out = {"bars": n_bars, "ours_s": ours, "ours_bars_per_s": n_bars / ours, "ours_trades": n_trades}
    try:
        call = _vectorbt_call(market, sp, entries)
    except ImportError:
        return out
    theirs = _best(call, repeat)
    out |= {
        "vectorbt_s": theirs,
        "vectorbt_bars_per_s": n_bars / theirs,
        "vectorbt_trades": int(call().trades.count()),
        "speedup": theirs / ours,
    }
    return out


def measure_full_backtest(repeat: int = 3) -> list[float]:
    """Seconds per repeat of the 180-day rules backtest (load, features, simulate, metrics, report data)."""
    return _times(_full_backtest_once(), repeat)


def _full_backtest_once():
    from backtest.data.load import load_dataset
    from backtest.features import compute_features
    from backtest.metrics import compute_metrics
    from backtest.objectives import check_objectives
    from backtest.report.writer import equity_frame
    from backtest.runner import run_backtest

    params, objectives = load_params(), load_objectives()

    def once():
        ds = load_dataset(params, "synthetic", 180)
        features = compute_features(ds.bars, params.trading, params.market.coin)
        market = Market.from_bars(ds.bars, params)
        result = run_backtest("rules", params, objectives, market, features, ds.provenance, workers=0)
        metrics = compute_metrics(result)
        check_objectives(metrics, objectives, params.backtest.min_trades_threshold)
        equity_frame(result, np.zeros(result.n_bars))
        return result, metrics

    return once


def bench_full_backtest(repeat: int) -> dict[str, float]:
    once = _full_backtest_once()
    elapsed = _best(once, repeat)
    result, metrics = once()
    import tempfile
    from pathlib import Path

    from backtest.objectives import check_objectives as check
    from backtest.report import write_report

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_report(result, metrics, check(metrics, load_objectives(), 50), Path(tmp), "bench")
        render = time.perf_counter() - t0
    return {"bars": result.n_bars, "full_backtest_s": elapsed, "html_report_s": render}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--entry-rate", type=float, default=0.01, help="share of bars with an entry signal")
    args = ap.parse_args()
    core = bench_core(args.bars, args.repeat, args.entry_rate)
    print("| simulator core | bars | seconds | bars/s | trades |")
    print("|---|---|---|---|---|")
    print(
        f"| AML-100 run_signals | {core['bars']:,} | {core['ours_s']:.4f} | {core['ours_bars_per_s'] / 1e6:.1f} M | "
        f"{core['ours_trades']:,} |"
    )
    if "vectorbt_s" in core:
        print(
            f"| vectorbt from_signals | {core['bars']:,} | {core['vectorbt_s']:.4f} | "
            f"{core['vectorbt_bars_per_s'] / 1e6:.1f} M | {core['vectorbt_trades']:,} |"
        )
        print(f"\nAML-100 is {core['speedup']:.1f}x vectorbt on the same series")
    from bench.bench_execution import measure_maker_core

    mk = measure_maker_core(args.bars, args.repeat)
    market, maker = min(mk["market_s"]), min(mk["maker_s"])
    print(
        f"with maker entries and exits (CPU time): {args.bars / maker / 1e6:.1f} M bars/s vs "
        f"{args.bars / market / 1e6:.1f} M market, {maker / market:.2f}x its time (target <= 1.5)"
    )
    full = bench_full_backtest(max(1, args.repeat // 2))
    print(
        f"\nfull 180-day 1m rule backtest ({full['bars']:,} bars; load, features, simulate, metrics, report data): "
        f"{full['full_backtest_s']:.2f} s; HTML report rendering: {full['html_report_s']:.2f} s"
    )


if __name__ == "__main__":
    main()
