"""The first backtest on a fresh clone: with and without `make setup`'s compile warm-up (`python -m rl.warm`).

    python -m bench.bench_first_run [--days 180] [--workers 2]

Clones this repository's HEAD into a temporary folder (so no numba cache exists: numba keys its cache on the source
file's path), then times `python -m backtest --days 180 --data synthetic --strategy rules --workers 2 --no-report`
there, each run a fresh process as a user types it:

1. first run with cold caches (what a fresh clone did before `make setup` warmed them), then a second run;
2. caches cleared, `python -m rl.warm` (what `make setup` runs), then the first run and a second one.

The figure is the command's own "after Ray start" time (imports, data, features, simulation, metrics). The claim it
checks: after `make setup` the first run is as fast as the second.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_backtest import LINE

ROOT = Path(__file__).resolve().parent.parent


def _env(clone: Path) -> dict[str, str]:
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled", "PYTHONPATH": str(clone)}
    env.pop("NUMBA_CACHE_DIR", None)
    return env


def _backtest(clone: Path, days: float, workers: int) -> float:
    cmd = [sys.executable, "-m", "backtest", "--days", f"{days:g}", "--data", "synthetic", "--strategy", "rules",
           "--workers", str(workers), "--no-report"]  # fmt: skip
    proc = subprocess.run(cmd, cwd=clone, env=_env(clone), capture_output=True, text=True, timeout=1800)
    match = LINE.search(proc.stdout)
    if proc.returncode != 0 or match is None:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return float(match.group(3))


def _clear_caches(clone: Path) -> None:
    for path in clone.rglob("*.nb[ic]"):
        path.unlink()


def measure(days: float = 180.0, workers: int = 2) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="aml100-clone-"))
    clone = tmp / "repo"
    try:
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=300)
        out = {"cold_first": _backtest(clone, days, workers), "cold_second": _backtest(clone, days, workers)}
        _clear_caches(clone)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rl.warm"], cwd=clone, env=_env(clone), check=True,
                       capture_output=True, timeout=3600)  # fmt: skip
        out["warm_up"] = time.perf_counter() - t
        out["warm_first"] = _backtest(clone, days, workers)
        out["warm_second"] = _backtest(clone, days, workers)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_first_run", description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=float, default=180.0)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    load0 = os.getloadavg()[0]
    m = measure(args.days, args.workers)
    print(f"| fresh clone, `python -m backtest --days {args.days:g} --strategy rules --workers {args.workers}` | "
          "first run | second run |\n|---|---|---|")  # fmt: skip
    print(f"| without the warm-up (cold numba cache) | {m['cold_first']:.2f} s | {m['cold_second']:.2f} s |")
    print(
        f"| after `python -m rl.warm` ({m['warm_up']:.0f} s, run by `make setup`) | {m['warm_first']:.2f} s | "
        f"{m['warm_second']:.2f} s |"
    )
    print(f"\nload average {load0:.2f} -> {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
