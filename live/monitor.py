"""`python -m live.monitor`: a compact live view of one trader for an SSH session (rich), refreshed in place.

    python -m live.monitor                   # the most recently updated trader under live.journal_dir
    python -m live.monitor --root runs/live/xyz_XYZ100/0xabc...
    python -m live.monitor --once            # print one snapshot and exit (scripts, tests)

Shows status (mode, policy, running, status age), equity and PnL, drawdown against the halt level, risk flags and
feed health, the position and its legs, the last decisions and orders, and alerts (the trader's and the autopilot's
`alert` records). Read-only. The figures come from `live.dashboard.views`, the same functions the web dashboard uses.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from backtest.cli import add_config_args, load_configs, run_main, schema_type
from live.dashboard import data, views
from live.dashboard.config import DashboardConfig

LEVEL_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan", "ok": "green"}


def snapshot(root: Path, paths: data.Paths, days: int, now_ms: int) -> Group:
    """One screen: header, figures, risk, position, decisions, orders, alerts."""
    status = data.read_status(root) or {}
    skipped: Counter = Counter()
    recs = data.load_records(root, days, skipped)
    fig = views.live_figures(status, recs, now_ms)
    kinds, decisions, eq, risk, pos = fig["kinds"], fig["decisions"], fig["equity"], fig["risk"], fig["position"]
    summary, fills, slip = fig["summary"], fig["fills"], fig["slippage"]
    cycles = data.load_cycles(paths.cycles_file(str(status.get("coin") or "")))

    running = Text("RUNNING", "bold green") if status.get("running") else Text("STOPPED", "bold yellow")
    head = Text.assemble(
        (f"{status.get('coin', '?')} ", "bold"),
        f"{status.get('account', '?')} · {status.get('mode', '?')} · policy {status.get('policy_id')} · ",
        running,
        f" · status {views.fmt_age(risk['status_age_s'])} old · last bar ",
        views.fmt_time((status.get("last_bar") or {}).get("time_ms")),
    )
    fig = Table.grid(padding=(0, 3))
    for _ in range(4):
        fig.add_column()
    fig.add_row(
        f"equity [bold]{views.fmt_num(eq['equity'])}[/]",
        f"PnL {views.fmt_signed(eq['pnl'])} ({views.fmt_signed(eq['pnl_pct'], 2, ' %')})",
        f"position [bold]{views.fmt_num(pos['size'], 4)}[/] {pos['side']}",
        f"HOLD rate {views.fmt_pct(summary['hold_rate_pct'], 1)} of {summary['decisions']}",
    )
    lvl = LEVEL_STYLE.get(risk["level"], "")
    fig.add_row(
        f"drawdown [bold]{views.fmt_pct(risk['drawdown_pct'])}[/] / halt {views.fmt_pct(risk['halt_level_pct'])}",
        f"risk [{lvl}]{risk['level'].upper()}[/]"
        + (" [bold red]HALTED[/]" if risk["halted"] else "")
        + (" [bold red]EMERGENCY STOP[/]" if risk["emergency"] else "")
        + (" [yellow]BREAKER OPEN[/]" if risk["breaker_open"] else ""),
        "feed "
        + ("[green]connected[/]" if risk["feed_connected"] else "[bold red]DOWN[/]")
        + f" ({views.fmt_age(risk['feed_age_s'])})",
        f"fills {len(fills)}, slippage {views.fmt_signed(slip['mean_bps'])} bps",
    )
    parts: list[Any] = [Panel(Group(head, fig), title="AML-100 live", border_style=lvl or "white")]

    if pos["legs"]:
        parts.append(_table("position legs", pos["legs"]))
    last = [{k: r[k] for k in ("bar", "action", "close", "equity", "position", "note")}
            for r in views.decision_rows(decisions, 6)]  # fmt: skip
    parts.append(_table("last decisions", last))
    orders = [
        {"time": views.fmt_time(o.get("ts")), "reason": o.get("reason"), "side": "buy" if o.get("is_buy") else "sell",
         "size": views.fmt_num(o.get("size"), 4), "status": o.get("status"), "avg px": views.fmt_num(o.get("avg_px")),
         "cloid": views.short_id(o.get("cloid"))}
        for o in reversed((status.get("last_orders") or _journal_orders(kinds))[-6:])
    ]  # fmt: skip
    parts.append(_table("last orders", orders))
    alerts = views.alerts(recs, data.load_records(paths.autopilot_root(str(status.get("coin") or "")), days))[:6]
    txt = Text()
    for a in alerts:
        txt.append(f"{a['time']} ", "dim")
        txt.append(f"{a['kind']}: ", LEVEL_STYLE.get(a["level"], ""))
        txt.append(a["text"] + "\n")
    txt.rstrip()
    parts.append(Panel(txt if alerts else Text("none", "dim"), title="alerts"))
    if skipped:
        parts.append(Text(views.skipped_text(skipped), "yellow"))
    if cycles:
        s = views.cycle_summary(cycles)
        parts.append(
            Text(
                f"autopilot: {s['cycles']} cycles, last {s['last_status']} at "
                f"{views.fmt_time(s['last_end_ms'])}; swaps {s['swaps']}, gate refused {s['gate_refused']}"
            )
        )
    return Group(*parts)


def _journal_orders(kinds: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Orders with their last answer, from the journal (when status.json carries none)."""
    acks = {a.get("cloid"): a for a in kinds.get("ack", [])}
    out = []
    for o in kinds.get("order", [])[-6:]:
        ack = acks.get(o.get("cloid")) or {}
        out.append({**o, "status": ack.get("status"), "avg_px": ack.get("avg_px")})
    return out


def _table(title: str, rows: list[dict[str, Any]]) -> Table | Text:
    if not rows:
        return Text(f"{title}: none", "dim")
    t = Table(title=title, title_justify="left", expand=False, pad_edge=False)
    for col in rows[0]:
        t.add_column(col)
    for r in rows:
        t.add_row(*[str(v) for v in r.values()])
    return t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m live.monitor", description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, help="trader folder (default: the most recently updated)")
    ap.add_argument("--once", action="store_true", help="print one snapshot and exit")
    ap.add_argument(
        "--refresh",
        type=schema_type(DashboardConfig, "refresh_seconds", "dashboard.refresh_seconds"),
        help="seconds between refreshes (default dashboard.refresh_seconds)",
    )
    ap.add_argument("--width", type=int, help="console width for --once (default: the terminal's)")
    add_config_args(ap)
    args = ap.parse_args(argv)
    params, _ = load_configs(args)
    paths = data.Paths.from_params(params)
    root = args.root
    if root is None:
        traders = data.find_traders(paths.journal_dir)
        if not traders:
            print(f"no trader journal under {paths.journal_dir} (start one: python -m live.serve)")
            return 2
        root = traders[0].root
    if not (root / "status.json").is_file():
        print(f"{root}: no status.json (not a trader folder)")
        return 2
    days = params.dashboard.journal_days
    console = Console(width=args.width) if args.width else Console()
    if args.once:
        console.print(snapshot(root, paths, days, int(time.time() * 1000)))
        return 0
    from rich.live import Live

    every = args.refresh or params.dashboard.refresh_seconds
    try:
        with Live(snapshot(root, paths, days, int(time.time() * 1000)), console=console, screen=False,
                  auto_refresh=False) as live:  # fmt: skip
            while True:
                time.sleep(every)
                live.update(snapshot(root, paths, days, int(time.time() * 1000)), refresh=True)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    run_main(main)
