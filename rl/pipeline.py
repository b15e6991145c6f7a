"""`python -m rl.pipeline` (what `make run` runs): the whole loop on the embedded synthetic default.

Each step is one of the README's commands, run as its own process, so the pipeline and the documented commands cannot
drift apart: data summary -> rules backtest on Ray -> LSTM-PPO + LSTM-DQN training -> ensemble backtest ->
execution-parameter sweep -> registry -> the ensemble rehearsed live on the paper exchange and replayed through the
backtester -> one autopilot cycle. Stops at the first failing step with its exit code.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time


def steps(days: float, train_days: float, timesteps: int, trials: int, workers: int) -> list[tuple[str, list[str]]]:
    py = [sys.executable, "-m"]
    d = ["--data", "synthetic"]
    return [
        ("data: generate and summarise", [*py, "backtest.data", "inspect", *d, "--days", f"{days:g}"]),
        (
            "backtest: rules strategy on Ray",
            [*py, "backtest", "--days", f"{days:g}", *d, "--strategy", "rules", "--workers", str(workers)],
        ),
        (
            "rl: train LSTM-PPO and LSTM-DQN, validate",
            [*py, "rl.train", "--algo", "ensemble", "--timesteps", str(timesteps), *d, "--days", f"{train_days:g}"],
        ),
        (
            "backtest: the trained ensemble",
            [*py, "backtest", "--days", f"{days:g}", *d, "--strategy", "ensemble", "--workers", str(workers)],
        ),
        ("tune: execution parameters", [*py, "rl.tune", "--trials", str(trials), "--level", "execution", *d]),
        ("registry", [*py, "rl.registry", "list"]),
        (
            "live: the ensemble rehearsed on the paper exchange, replayed through the backtester",
            [*py, "live.rehearsal", "--strategy", "ensemble", "--bars", "200"],
        ),
        (
            "autopilot: one cycle (judge, grade, improve, promote)",
            [*py, "live.autopilot", "--once", "--set", f"autopilot.execution_trials={trials}"],
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    from backtest.cli import schema_type
    from backtest.config import BacktestConfig, load_params

    p = load_params()  # the defaults below are the params file's: the steps run with the same file
    ap = argparse.ArgumentParser(prog="python -m rl.pipeline", description=__doc__)
    days = schema_type(BacktestConfig, "days", "backtest.days")
    ap.add_argument("--days", type=days, default=p.backtest.days, help="backtest span in days (default backtest.days)")
    ap.add_argument("--train-days", type=days, default=30, help="days of bars for training (default 30)")
    ap.add_argument(
        "--timesteps",
        type=int,
        default=60000,
        help="env steps per algorithm (default 60000: the learning bench's short budget, where 3-4 of 5 seeds of "
        "each agent learn the strong planted edge under the venue's fees)",
    )
    ap.add_argument(
        "--trials",
        type=int,
        default=p.autopilot.execution_trials,
        help="execution sweep trials, of rl.tune and of the autopilot cycle (default autopilot.execution_trials)",
    )
    workers = schema_type(BacktestConfig, "max_workers", "backtest.max_workers")
    ap.add_argument("--workers", type=workers, default=p.backtest.max_workers, help="default backtest.max_workers")
    args = ap.parse_args(argv)
    t_all = time.perf_counter()
    for i, (title, cmd) in enumerate(steps(args.days, args.train_days, args.timesteps, args.trials, args.workers), 1):
        print(f"\n=== [{i}] {title}\n$ {' '.join(['python', *cmd[1:]])}", flush=True)
        t0 = time.perf_counter()
        code = subprocess.call(cmd)
        if code != 0:
            print(f"=== step {i} failed with exit code {code}", flush=True)
            return code
        print(f"=== [{i}] done in {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"\npipeline finished in {time.perf_counter() - t_all:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
