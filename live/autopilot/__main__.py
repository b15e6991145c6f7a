"""`python -m live.autopilot`: the autonomous loop (docs/AUTOPILOT.md).

    python -m live.autopilot --once                    # one cycle now
    python -m live.autopilot                           # a cycle every autopilot.cycle_hours, until stopped
    ray job submit -- python -m live.autopilot --once  # as a Ray job on a cluster started from the project's env

Each cycle judges the live (or promoted) policy, grades it CRITICAL / POOR / MODERATE / GOOD, pauses or resizes the
live trader, improves (sweeps, retrains) when the grade asks for it, and promotes and hot-swaps a candidate that
passes the gate and beats the live policy. A killed autopilot resumes the interrupted cycle at the step it had not
finished; a second autopilot for the same coin is refused.
"""

from __future__ import annotations

import sys

from cluster.preflight import require_project_env

require_project_env("python -m live.autopilot")

import argparse  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from backtest.cli import add_config_args, load_configs, run_main  # noqa: E402
from backtest.config import Override  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m live.autopilot",
        description=__doc__.split("\n\n")[0].split(": ", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    p.add_argument("--once", action="store_true", help="run (or resume) one cycle, then exit")
    p.add_argument("--cycle-hours", type=float, help="hours between cycle starts (default autopilot.cycle_hours)")
    p.add_argument("--registry", help="registry folder or URI (default $AML100_REGISTRY or <cluster.storage>/registry)")
    p.add_argument("--tune-dir", help="where sweeps are written, a path or a URI (default <cluster.storage>/runs/tune)")
    p.add_argument("--dir", type=Path, help="cycle journal and state folder (default <autopilot.dir>/<coin>)")
    p.add_argument("--address", help="Ray cluster address (default RAY_ADDRESS, a `ray start` cluster, else local)")
    add_config_args(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    extra = [Override.flag("--cycle-hours", "autopilot.cycle_hours", args.cycle_hours)] if args.cycle_hours else []
    params, objectives = load_configs(args, extra)

    from filelock import FileLock, Timeout

    from backtest.config import ConfigError
    from cluster.storage import StorageError, check_reachable, registry_root, resolve_root, tune_root
    from live.autopilot.book import Book
    from live.autopilot.cycle import Context, default_dir, find_trader, run_cycle

    root = args.dir or default_dir(params)
    tune_dir = resolve_root(args.tune_dir) if args.tune_dir else tune_root(params)
    registry = resolve_root(args.registry) if args.registry else registry_root(params)
    try:  # before any work: nothing may land in a Ray job's temporary copy of the repository
        if params.cluster.check_storage:
            check_reachable(tune_dir, "--tune-dir" if args.tune_dir else "cluster.storage", nodes=False)
            check_reachable(registry, "--registry" if args.registry else "the registry", nodes=False)
        check_reachable(str(root), "--dir" if args.dir else "autopilot.dir", nodes=False)
    except StorageError as exc:
        raise ConfigError(str(exc)) from None
    book = Book(root)
    lock = FileLock(str(root / "autopilot.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"error: an autopilot for {params.market.coin} is already running (lock {root / 'autopilot.lock'})",
              file=sys.stderr)  # fmt: skip
        return 1
    from cluster.connect import started_cluster_address

    if args.address or os.environ.get("RAY_ADDRESS") or started_cluster_address():
        from cluster import connect  # before looking for the trader: its actor may be on another node

        print(connect(args.address), flush=True)
    from live.alerts.service import autopilot_label, start_alerts

    alerts = start_alerts(params, root, autopilot_label(params.market.coin), say=lambda m: print(m, flush=True))
    stop = {"now": False}

    def on_signal(*_: object) -> None:
        stop["now"] = True
        print("autopilot: stopping after the current step", flush=True)

    signal.signal(signal.SIGTERM, on_signal)
    try:
        while True:
            t0 = time.monotonic()
            ctx = Context(params, objectives, book, registry, tune_dir,
                          log=lambda m: print(m, flush=True), control=find_trader(params))  # fmt: skip
            line = run_cycle(ctx)
            print(f"cycle {line['cycle']}: {line['status']} | actions {line['actions']} | trials {line['trials']} "
                  f"| promoted {line['promoted']} | swap {line['swap']}"
                  + (f" | error {line['error']}" if line["error"] else ""), flush=True)  # fmt: skip
            if args.once or stop["now"]:
                return 0 if line["error"] is None else 1
            wait = params.autopilot.cycle_hours * 3600 - (time.monotonic() - t0)
            print(f"next cycle in {max(0.0, wait) / 60:.1f} min", flush=True)
            deadline = time.monotonic() + max(0.0, wait)
            while time.monotonic() < deadline and not stop["now"]:
                time.sleep(min(5.0, deadline - time.monotonic()))
            if stop["now"]:
                return 0
    finally:
        if alerts is not None:
            alerts.stop(flush_s=15.0)
        lock.release()


if __name__ == "__main__":
    run_main(main)
