"""Policy backtests on the path users run: `python -m backtest --strategy S --workers W --no-report`, timed whole.

    python -m bench.bench_backtest [--strategies ppo dqn ensemble] [--workers 0 1 2] [--repeat 3] [--days 180]
                                   [--no-halt] [--train]

Every run is a fresh process, exactly the command a user types: interpreter start, imports, loading the newest
checkpoints under runs/ (trained with `python -m rl.train --algo ensemble --data synthetic --days 30 --timesteps
16000`, what `make run` does, when there are none or with --train), data and features, Ray worker start-up,
inference fused with the simulator, metrics. Reported per run:
- `after Ray start`: the run time the command prints: from the program's start (imports included) to its answer,
  minus connecting to / starting Ray (the figure the targets are set on);
- `wall`: the whole process as a user waits for it, Ray start and shutdown included.
With the default objectives a poor policy hits the 4 % drawdown halt early and the runner skips the segments after
it; `--no-halt` (objectives.auto_stop_drawdown=100) times every segment, the cost of a policy that never halts.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

LINE = re.compile(r"segments: (\d+) x \d+ bars, workers: (\S+), ([\d.]+) s(?: \(\+ Ray start ([\d.]+) s\))?")
TRAIN = ["--algo", "ensemble", "--data", "synthetic", "--days", "30", "--timesteps", "16000"]


def env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parent.parent)
    out = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    out["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])])
    return out


def ensure_checkpoints(train: bool = False) -> None:
    """Train the `make run` checkpoints (PPO, DQN and their ensemble manifest) unless runs/ already has them."""
    from rl import checkpoint as ck

    if not train and ck.latest(ck.DEFAULT_RUNS_DIR, "ensemble") is not None:
        return
    print(f"training checkpoints: python -m rl.train {' '.join(TRAIN)}", flush=True)
    subprocess.run([sys.executable, "-m", "rl.train", *TRAIN], env=env(), check=True, capture_output=True)


def run_once(strategy: str, workers: int, days: float, no_halt: bool) -> dict[str, float]:
    """One `python -m backtest` process; its timings in seconds."""
    cmd = [sys.executable, "-m", "backtest", "--strategy", strategy, "--workers", str(workers), "--no-report"]
    cmd += ["--days", f"{days:g}", "--data", "synthetic"]
    if no_halt:
        cmd += ["--set", "objectives.auto_stop_drawdown=100"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env(), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    match = LINE.search(proc.stdout)
    if proc.returncode != 0 or match is None:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return {"after_ray_s": float(match.group(3)), "wall_s": wall, "ray_start_s": float(match.group(4) or 0.0)}


def measure(
    strategies: list[str], workers: list[int], repeat: int, days: float, no_halt: bool
) -> dict[tuple[str, int], list[dict[str, float]]]:
    """{(strategy, workers): [timings per repeat]}; repeats interleaved so load drifts hit every row alike."""
    out: dict[tuple[str, int], list[dict[str, float]]] = {(s, w): [] for s in strategies for w in workers}
    for _ in range(repeat):
        for key in out:
            out[key].append(run_once(*key, days, no_halt))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--strategies", nargs="+", default=["ppo", "dqn", "ensemble"])
    ap.add_argument("--workers", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--days", type=float, default=180.0)
    ap.add_argument("--no-halt", action="store_true", help="objectives.auto_stop_drawdown=100: every segment runs")
    ap.add_argument("--train", action="store_true", help="train fresh checkpoints first")
    args = ap.parse_args(argv)
    ensure_checkpoints(args.train)
    results = measure(args.strategies, args.workers, args.repeat, args.days, args.no_halt)
    print(f"| command ({args.days:g} days, synthetic{', no halt' if args.no_halt else ''}) | after Ray start "
          "(min / median / max) | wall, Ray start and stop included |")  # fmt: skip
    print("|---|---|---|")
    for (strategy, workers), runs in results.items():
        a = [r["after_ray_s"] for r in runs]
        print(
            f"| `python -m backtest --strategy {strategy} --workers {workers}` | {min(a):.2f} / "
            f"{statistics.median(a):.2f} / {max(a):.2f} s | {statistics.median(r['wall_s'] for r in runs):.2f} s |"
        )


if __name__ == "__main__":
    main()
