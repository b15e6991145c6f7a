"""`python -m live.dashboard`: the web dashboard (Streamlit), headless, bound to loopback, no usage statistics.

    python -m live.dashboard                      # host/port from params.yaml `dashboard:` (127.0.0.1:8501)
    python -m live.dashboard --port 8600 --set live.journal_dir=runs/live
    python -m live.dashboard --demo               # build (once) and show a demo workspace under runs/demo

Pages: Live (equity vs backtest, position, orders, fills and slippage, risk, decisions, heatmap, alerts),
Autopilot (cycle timeline, trials, gate verdicts, swaps), Research (registry, reports, sweeps, Ray links).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from backtest.cli import add_config_args, load_configs, run_main, schema_type
from backtest.config import REPO_ROOT
from live.dashboard import data
from live.dashboard.config import DashboardConfig

HERE = Path(__file__).resolve().parent


def streamlit_command(host: str, port: int) -> list[str]:
    """The `streamlit run` command line: headless, no telemetry, no file watcher, no developer toolbar."""
    return [
        sys.executable, "-m", "streamlit", "run", str(HERE / "server.py"),
        "--server.headless=true",
        "--browser.gatherUsageStats=false",
        f"--server.address={host}",
        f"--server.port={port}",
        "--server.fileWatcherType=none",
        "--server.runOnSave=false",
        "--client.toolbarMode=viewer",
        "--global.developmentMode=false",
        "--theme.base=light",
        "--runner.magicEnabled=false",
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m live.dashboard", description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", help="bind address (default dashboard.host, loopback)")
    ap.add_argument(
        "--port", type=schema_type(DashboardConfig, "port", "dashboard.port"), help="port (default dashboard.port)"
    )
    ap.add_argument("--demo", action="store_true", help="show a demo workspace (built on first use, ~20 s)")
    ap.add_argument("--demo-dir", type=Path, default=REPO_ROOT / "runs" / "demo", help="demo workspace folder")
    ap.add_argument("--rebuild-demo", action="store_true", help="rebuild the demo workspace first")
    ap.add_argument("--check", action="store_true", help="validate the configuration, print the paths, exit")
    add_config_args(ap)
    args = ap.parse_args(argv)
    if args.demo or args.rebuild_demo:
        from live.dashboard.demo import build_demo, load_workspace

        ws = None if args.rebuild_demo else load_workspace(args.demo_dir)
        ws = ws or build_demo(args.demo_dir)
        args.overrides = [*ws.overrides, *args.overrides]
    params, _ = load_configs(args)  # a bad value fails here, with the key, before Streamlit starts
    paths = data.Paths.from_params(params)
    host, port = args.host or params.dashboard.host, args.port or params.dashboard.port
    if args.check:
        for k, v in paths.__dict__.items():
            print(f"{k:20s} {v}")
        print(f"{'traders':20s} {len(data.find_traders(paths.journal_dir))}")
        return 0
    passthrough = [*(["--config", args.config] if args.config else []),
                   *(["--objectives", args.objectives] if args.objectives else []),
                   *[x for o in args.overrides for x in ("--set", o)]]  # fmt: skip
    env = dict(os.environ)
    env[data.ARGV_ENV] = json.dumps(passthrough)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    print(f"dashboard: http://{host}:{port}  (journals {paths.journal_dir}; Ctrl-C stops it)", flush=True)
    cmd = streamlit_command(host, port)
    os.execve(cmd[0], cmd, env)  # one process: what starts it can stop it by its pid
    return 0


if __name__ == "__main__":
    run_main(main)
