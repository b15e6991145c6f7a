"""Starting the pushes where they run: beside a trader (its process or Ray actor), beside the autopilot, or for every
journal found (`python -m live.alerts run`).

Each long-running command starts a dispatcher for the journal it owns, so a user who runs only one of them gets its
alerts, and nothing needs starting by hand; `run` is for pushes from a process of their own (or journals whose
owner is gone). A folder's dispatch lock makes sure one dispatcher at a time pushes it, whichever started first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backtest.config import Params
from live.alerts.dispatcher import Dispatcher
from live.alerts.summary import trader_summary
from live.alerts.targets import Target, TargetError, build_notifier, load_targets

log = logging.getLogger("live.alerts")


def usable_targets(params: Params, say: Callable[[str], None] = log.info) -> list[Target]:
    """The configured targets apprise accepts (the others are named, without their URL, and left out)."""
    cfg = params.alerts
    if not cfg.enabled:
        say("alerts: off (alerts.enabled: false); alerts stay in the journal")
        return []
    targets = load_targets(cfg)
    if not targets:
        names = ", ".join(u.env for u in cfg.urls) or "(alerts.urls is empty)"
        say(f"alerts: no push URL configured (set {names} in the environment or .env); alerts stay in the journal")
    ok = []
    for t in targets:
        try:
            build_notifier(t, cfg.send_timeout_seconds)
            ok.append(t)
        except TargetError as exc:
            say(f"alerts: {exc}")
    return ok


def cycles_file(params: Params) -> Path:
    from live.autopilot.cycle import default_dir

    return default_dir(params) / "cycles.jsonl"


def start_alerts(
    params: Params, root: str | Path, label: str, summary: bool = False, say: Callable[[str], None] = log.info
) -> Dispatcher | None:
    """A started dispatcher for the journal in `root` (with the trader's daily summary when `summary`), or None
    when no URL is configured or alerts are off; `say` gets one line about it."""
    targets = usable_targets(params, say)
    if not targets:
        return None
    root = Path(root)
    daily = trader_summary(root, cycles_file(params)) if summary else None
    d = Dispatcher(root, label, params.alerts, targets, summary=daily).start()
    say(f"alerts: pushing {label}'s alerts to {', '.join(t.name for t in targets)}")
    return d


def start_trader_alerts(trader: Any, say: Callable[[str], None] = log.info) -> Dispatcher | None:
    """A trader's pushes, on a thread of its process (its Ray actor's or the command's), with the daily summary;
    the URLs come from that process's environment or the repository's .env (as the signing key)."""
    label = trader_label(trader.id.coin, trader.id.mode)
    return start_alerts(trader.params, trader.journal.root, label, summary=True, say=say)


def trader_label(coin: str, mode: str) -> str:
    return f"{coin} {mode}"


def autopilot_label(coin: str) -> str:
    return f"autopilot {coin}"
