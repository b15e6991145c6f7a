"""Benchmark `python -m backtest.data import` on a 2-year NQ-style 1-minute file, as a user runs it.

The bench writes the file itself (`backtest.data.vendor.samples`: synthetic prices in the FirstRate layout, CME
session hours only, about 709,000 rows over 730 days), then times the command in a fresh process into a scratch
store and reads its peak resident memory (`resource.getrusage(RUSAGE_CHILDREN)`), then a second, idempotent import
of the same file (nothing to add), and `--data proxy --days 180` through `python -m backtest.data inspect`.

Targets: import < 10 s and < 2 GB on 2 cores. Usage: python -m bench.bench_import [--days 730] [--layout firstrate]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from backtest.data.vendor.samples import LAYOUTS, write_sample


def _run(cmd: list[str]) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, peak RSS of the child in MB, stdout) of one command in a fresh process.

    The CPU time (user + system of the child) is what a busy machine does not inflate; the wall time is."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024, proc.stdout  # ru_maxrss: the largest child so far


def measure(days: float = 730.0, layout: str = "firstrate") -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        ext = "parquet" if layout == "databento-parquet" else "csv"
        path = Path(tmp) / f"nq.{ext}"
        rows = write_sample(path, layout, "2024-01-02", days)
        store = Path(tmp) / "store"
        base = [sys.executable, "-m", "backtest.data"]
        load_avg = os.getloadavg()[0]
        wall, cpu, peak, _ = _run([*base, "import", str(path), "--data-dir", str(store)])
        again, again_cpu, _, out2 = _run([*base, "import", str(path), "--data-dir", str(store)])
        if "added 0 new bars" not in out2:
            raise RuntimeError(f"the second import added bars:\n{out2}")
        load, _, _, _ = _run([*base, "inspect", "--data", "proxy", "--days", "180", "--data-dir", str(store)])
        return {"rows": rows, "mb": path.stat().st_size / 1e6, "import_s": wall, "import_cpu_s": cpu,
                "peak_mb": peak, "again_s": again, "again_cpu_s": again_cpu, "inspect_s": load,
                "load_avg": load_avg}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_import", description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=float, default=730.0, help="calendar days in the file (default 730)")
    ap.add_argument("--layout", choices=LAYOUTS, default="firstrate")
    args = ap.parse_args(argv)
    r = measure(args.days, args.layout)
    print(f"file      {r['rows']:,} rows, {r['mb']:.1f} MB ({args.layout}, {args.days:g} days)")
    print(f"import    {r['import_s']:.2f} s wall, {r['import_cpu_s']:.2f} s CPU, peak RSS {r['peak_mb']:.0f} MB "
          f"(targets < 10 s, < 2048 MB; load average before: {r['load_avg']:.1f})")  # fmt: skip
    print(f"again     {r['again_s']:.2f} s wall, {r['again_cpu_s']:.2f} s CPU (the same file: nothing added)")
    print(f"inspect   {r['inspect_s']:.2f} s (--data proxy --days 180)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
