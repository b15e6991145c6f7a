"""`python -m live.alerts`: test the push URLs, push from a process of its own, see what was delivered.

    python -m live.alerts test                 # a test message to every configured URL; says which worked
    python -m live.alerts run                  # push the alerts of every trader journal and autopilot folder found
    python -m live.alerts status               # the URLs (by variable, never their value) and each folder's deliveries

The URLs come from the environment variables that `alerts.urls` names (default AML100_ALERT_URLS), or from .env; an
apprise URL per service, e.g. tgram://BOT_TOKEN/CHAT_ID, ntfy://ntfy.sh/TOPIC, slack://..., discord://...,
mailto://..., json://host/path (see README "Getting alerts"). `live.serve` and `live.autopilot` push their own
alerts already; `run` is for a separate process (a folder is pushed by one dispatcher at a time: its lock).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from backtest.cli import add_config_args, load_configs, run_main
from backtest.config import Params


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m live.alerts",
        description="Alerts pushed to Telegram, Slack, Discord, email, ntfy or webhooks (apprise URLs from the "
        "environment or .env, never shown).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    p.add_argument("command", choices=["test", "run", "status"])
    p.add_argument("--message", default="", help="test: the text to send (default: a test line naming the target)")
    p.add_argument("--scan-seconds", type=float, default=30.0, help="run: how often to look for new folders")
    add_config_args(p)
    return p


def cmd_test(params: Params, message: str = "") -> int:
    from live.alerts.events import LEVELS
    from live.alerts.sender import send_once
    from live.alerts.targets import TargetError, build_notifier, guard_apprise_logging, load_targets

    cfg = params.alerts
    targets = load_targets(cfg)
    if not targets:
        names = ", ".join(u.env for u in cfg.urls) or "(alerts.urls is empty)"
        print(f"no alert URL configured: set {names} in the environment or in .env (an apprise URL, e.g. "
              "ntfy://ntfy.sh/your-topic); see README 'Getting alerts'")  # fmt: skip
        return 2
    redact = guard_apprise_logging(targets)
    failed = 0
    for t in targets:
        body = message or f"AML-100 test alert to {t.name}: if you read this, {t.name} works."
        msg = {"title": f"INFO · AML-100 · test ({t.name})", "body": body, "level": "info"}
        t0 = time.monotonic()
        try:
            ok, err = send_once(build_notifier(t, cfg.send_timeout_seconds), msg, cfg.send_timeout_seconds, redact)
        except TargetError as exc:
            ok, err = False, str(exc)
        took = time.monotonic() - t0
        levels = ", ".join(lv for lv in LEVELS if t.wants(lv))
        print(f"{t.name:<32} {'sent' if ok else 'FAILED'} in {took:.1f} s (gets: {levels})"
              + ("" if ok else f": {err}"))  # fmt: skip
        failed += not ok
    print(f"{len(targets) - failed} of {len(targets)} URL(s) worked")
    return 0 if failed == 0 else 1


def folders(params: Params) -> list[tuple[Path, str, bool]]:
    """(folder, label, is a trader) of every trader journal under live.journal_dir and every autopilot folder."""
    from live.alerts.service import autopilot_label, trader_label
    from live.autopilot.cycle import default_dir
    from live.journal import read_status
    from live.service import journal_base

    out = []
    base = journal_base(params)
    for status in sorted(base.glob("*/*/status.json")) if base.is_dir() else []:
        st = read_status(status.parent) or {}
        out.append((status.parent, trader_label(str(st.get("coin") or status.parent.parent.name),
                                                str(st.get("mode") or "?")), True))  # fmt: skip
    auto = default_dir(params).parent
    for cycles in sorted(auto.glob("*/cycles.jsonl")) if auto.is_dir() else []:
        out.append((cycles.parent, autopilot_label(cycles.parent.name), False))
    return out


def cmd_run(params: Params, scan_s: float, stop: threading.Event) -> int:
    """Push every folder found (new ones every `scan_s`) until `stop` is set."""
    from live.alerts.dispatcher import Dispatcher
    from live.alerts.service import cycles_file, usable_targets
    from live.alerts.summary import trader_summary

    targets = usable_targets(params, say=print)
    if not targets:
        return 2
    running: dict[Path, Dispatcher] = {}
    print(f"alerts: pushing to {', '.join(t.name for t in targets)}; Ctrl-C stops", flush=True)
    try:
        while not stop.is_set():
            for root, label, is_trader in folders(params):
                if root not in running:
                    daily = trader_summary(root, cycles_file(params)) if is_trader else None
                    running[root] = Dispatcher(root, label, params.alerts, targets, summary=daily).start()
                    print(f"alerts: watching {label} ({root}); pushed here unless its own process holds it",
                          flush=True)  # fmt: skip
            stop.wait(scan_s)
    finally:
        for d in running.values():
            d.stop(flush_s=5.0)
    return 0


def _last(path: Path, kind: str) -> list[dict[str, Any]]:
    from live.journal import read_records

    return list(read_records(path, kinds={kind}))


def cmd_status(params: Params) -> int:
    from live.alerts.dispatcher import ALERTS_DIR
    from live.alerts.events import LEVELS
    from live.alerts.targets import load_targets

    targets = load_targets(params.alerts)
    names = ", ".join(u.env for u in params.alerts.urls)
    print(f"alerts {'on' if params.alerts.enabled else 'OFF'}; URLs from {names or '(none named)'}: "
          + (", ".join(f"{t.name} >= {t.min_level}" for t in targets) or "none set"))  # fmt: skip
    for root, label, _ in folders(params):
        adir = root / ALERTS_DIR
        try:
            state = json.loads((adir / "state.json").read_text())
        except (OSError, ValueError):
            state = None
        alerts = _last(root, "alert")
        by_level = {lv: sum(1 for a in alerts if a.get("level") == lv) for lv in LEVELS}
        print(f"\n{label}: {root}")
        print(f"  alert records: {len(alerts)} ({', '.join(f'{k} {v}' for k, v in by_level.items())})")
        if state is None:
            print("  nothing pushed from here yet")
            continue
        pending = state.get("pending") or {}
        print(f"  read up to {state['tail'].get('file')} byte {state['tail'].get('offset')}; "
              f"{len(pending)} message(s) waiting for delivery")  # fmt: skip
        last: dict[str, dict[str, Any]] = {}
        for d in _last(adir, "delivery"):
            last[d.get("target", "?")] = d
        for name, d in sorted(last.items()):
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(d["ts"] / 1000))
            print(f"  {name:<32} last {d.get('status')} {when} UTC ({d.get('event')})"
                  + (f": {d['error']}" if d.get("error") else ""))  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    params, _ = load_configs(args)
    import logging

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    if args.command == "test":
        return cmd_test(params, args.message)
    if args.command == "run":
        stop = threading.Event()
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, lambda *_: stop.set())
        return cmd_run(params, args.scan_seconds, stop)
    return cmd_status(params)


if __name__ == "__main__":
    run_main(main)
