"""Benchmark: a pure execution-parameter sweep (rules strategy) over a 1-minute backtest on local Ray.

    python bench/bench_tune.py [--trials 50] [--days 180]

Prints the wall time of the whole sweep (data, Tune trials, the winner's test, reports) and per trial. The market
slices travel once through the object store; each trial is one simulator backtest per walk-forward fold.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")


def measure(trials: int, days: float) -> float:
    """Seconds of one execution sweep (data, Tune trials, the winner's test, reports); Ray must be up."""
    from backtest.config import load_objectives, load_params
    from rl.tuning.pipeline import SweepOptions, run_sweep
    from rl.tuning.space import load_space

    params = load_params(overrides=[f"backtest.days={days}"])
    with tempfile.TemporaryDirectory() as tmp:
        opts = SweepOptions(
            name="bench", level="execution", strategy="rules", trials=trials, source="synthetic",
            days=days, storage=Path(tmp) / "tune", registry=Path(tmp) / "registry", max_concurrent=2,
            retries=params.cluster.trial_retries,
        )  # fmt: skip
        return run_sweep(params, load_objectives(), load_space(params=params), opts, log=lambda s: None).seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--days", type=float, default=180)
    args = ap.parse_args()

    from backtest.config import load_objectives, load_params
    from cluster import connect
    from rl.tuning.pipeline import SweepOptions, run_sweep
    from rl.tuning.space import load_space

    params = load_params(overrides=[f"backtest.days={args.days}"])
    t0 = time.perf_counter()
    print(connect(None))
    t_ray = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        opts = SweepOptions(
            name="bench", level="execution", strategy="rules", trials=args.trials, source="synthetic",
            days=args.days, storage=Path(tmp) / "tune", registry=Path(tmp) / "registry", max_concurrent=2,
            retries=params.cluster.trial_retries,
        )  # fmt: skip
        out = run_sweep(params, load_objectives(), load_space(params=params), opts, log=lambda s: None)
    n_bars = int(args.days * 1440)
    print(
        f"execution sweep: {args.trials} trials x {load_space().score.folds} folds over {args.days:g} days "
        f"({n_bars:,} 1m bars): {out.seconds:.1f} s ({out.seconds / args.trials:.2f} s/trial), "
        f"ray start {t_ray:.1f} s, cpus {os.cpu_count()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
