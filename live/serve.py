"""`python -m live.serve`: trade the promoted policy (paper by default), and see or stop what is trading.

    python -m live.serve                           # paper: a loopback paper exchange on synthetic prices + the trader
    python -m live.serve --strategy rules          # the RSI/MACD rules instead of the promoted policy
    python -m live.serve --base-url http://127.0.0.1:8089   # against a paper exchange that already runs
    python -m live.serve --speed 60                # demo: the self-started paper exchange replays a bar a second
    python -m live.serve status [--json]           # what the trader is doing
    python -m live.serve stop [--no-flatten]       # flatten (configurable) and stop
    python -m live.serve pause|resume [--reason T] # no new entries (flatten first unless --no-flatten) / allow again
    python -m live.serve --mode testnet|mainnet    # real venues: a key, a gate passed for live use, and for
                                                   # mainnet --confirm-mainnet; refused otherwise

Where it runs: on a cluster started with `ray start --head` the trader (and a self-started paper exchange) become
named, detached Ray actors and this command returns; `status` and `stop` find them by name. Without a cluster it
runs on a local Ray and stays in the foreground (Ctrl-C stops it; `status`/`stop` from another terminal work through
the trader's status and control files). `--in-process` runs the trader in this process, without Ray.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from backtest.cli import add_config_args, load_configs, run_main, schema_type
from backtest.config import Params
from live.config import LiveConfig
from live.control import Stop
from live.dashboard.views.alerts import gap_text
from live.journal import read_status
from live.service import (
    ServiceError,
    ServiceSettings,
    acquire_trader_lock,
    actor_name,
    build_trader,
    coin_slug,
    journal_base,
    prepare_settings,
)

PAPER_ACTOR = "paper-exchange"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m live.serve",
        description="Trade the promoted policy on HyperLiquid (paper by default), or show/stop the running trader.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    p.add_argument("command", nargs="?", default="start", choices=["start", "status", "stop", "pause", "resume"])
    p.add_argument("--strategy", default="promoted", help="promoted (default) | rules | buyhold | checkpoint path")
    p.add_argument("--mode", choices=["paper", "testnet", "mainnet"], help="venue (default live.mode: paper)")
    p.add_argument("--base-url", help="a paper exchange already running (loopback), e.g. http://127.0.0.1:8089")
    p.add_argument(
        "--speed",
        type=schema_type(LiveConfig, "paper_speed", "live.paper_speed"),
        help="self-started paper exchange: bars per wall minute (default live.paper_speed)",
    )
    p.add_argument("--confirm-mainnet", action="store_true", help="required to trade real money on mainnet")
    p.add_argument("--in-process", action="store_true", help="run the trader in this process, without Ray")
    p.add_argument("--address", help="Ray cluster address (default: RAY_ADDRESS, a `ray start` cluster, or local)")
    p.add_argument("--json", action="store_true", help="status: print the raw status JSON")
    p.add_argument("--no-flatten", action="store_true", help="stop/pause: leave positions open (default: flatten)")
    p.add_argument("--reason", default="", help="pause/resume: why (journalled and shown in the alert)")
    p.add_argument("--registry", help="registry folder (default registry/ or $AML100_REGISTRY)")
    p.add_argument("--status-every", type=float, default=60.0, help="foreground: seconds between status lines")
    add_config_args(p)
    return p


# --- status -------------------------------------------------------------------------------------------------------
def _money(x: Any) -> str:
    return "-" if x is None else f"{x:,.2f}"


def format_status(st: dict[str, Any], source: str = "") -> str:
    """A compact, human status of one trader."""
    pos = st.get("position") or {}
    legs = pos.get("legs") or []
    side = {1: "LONG", -1: "SHORT"}.get(pos.get("side"), "FLAT")
    where = f"{side} {abs(pos.get('size') or 0):.4f}"
    if legs:
        where += f" @ {legs[0]['entry_px']:,.2f} (TP {legs[0]['tp_px']:,.2f} / SL {legs[0]['sl_px']:,.2f})"
    risk = st.get("risk") or {}
    feed = st.get("feed") or {}
    bar = st.get("last_bar") or {}
    eq, start = st.get("equity"), st.get("start_equity")
    change = f" ({100 * (eq / start - 1):+.2f} % since start)" if eq and start else ""
    age = feed.get("last_message_age_s")
    state = "running" if st.get("running") else "STOPPED"
    bar_time = time.strftime("%Y-%m-%d %H:%M", time.gmtime(bar["time_ms"] / 1000)) if bar.get("time_ms") else "-"
    lines = [
        f"live trader {st.get('coin')} | {st.get('mode')} | {st.get('base_url')} | {state} (pid {st.get('pid')})"
        + (f" | {source}" if source else ""),
        f"policy    {st.get('policy_id')} ({st.get('strategy')}), size x{st.get('size_multiplier')}",
        f"position  {where}",
        f"equity    {_money(eq)}{change}",
        f"risk      drawdown {risk.get('drawdown_pct', 0):.2f} % of halt {risk.get('halt_level_pct', 0):.2f} %"
        f" | halted {'YES' if risk.get('halted') else 'no'} | emergency {'ON' if risk.get('emergency') else 'off'}"
        f" | breaker {'OPEN' if risk.get('breaker_open') else 'closed'}"
        f" | daily stop {'YES' if risk.get('daily_stop') else 'no'}",
        f"last bar  {bar_time} close {bar.get('close', '-')} ({bar.get('source', '-')})",
        f"feed      {feed.get('mode', '-')}, last message "
        f"{'-' if age is None else f'{age:.1f} s'} ago, {feed.get('reconnects', 0)} reconnects, "
        f"{feed.get('backfilled', 0)} bars backfilled",
    ]
    gap = st.get("gap")
    if gap:
        lines.append(f"gap       {gap_text(gap)}")
    counts = st.get("counts") or {}
    lines.append(
        "counts    " + ", ".join(f"{k} {counts.get(k, 0)}" for k in ("bars", "decisions", "orders", "fills", "diffs"))
    )
    for d in (st.get("last_decisions") or [])[-5:]:
        t = time.strftime("%H:%M", time.gmtime(d["bar"] / 1000))
        extra = "" if d.get("executed") else " (not traded)"
        blocked = f" [blocked: {d['blocked']}]" if d.get("blocked") and d.get("action") != "HOLD" else ""
        lines.append(f"decision  {t} {d['action']:<4} close {d['close']}{extra}{blocked}")
    for o in (st.get("last_orders") or [])[-5:]:
        px = f" @ {o['avg_px']:,.2f}" if o.get("avg_px") else ""
        lines.append(
            f"order     {o.get('reason', ''):<9} {'BUY ' if o.get('is_buy') else 'SELL'} {o.get('size')} "
            f"{o.get('order_type', '')} -> {o.get('status')}{px}" + (f" ({o['error']})" if o.get("error") else "")
        )
    for a in (st.get("alerts") or [])[-3:]:
        text = str(a.get("message") or a.get("event") or a.get("kind"))
        text = text if len(text) <= 150 else text[:149] + "…"
        lines.append(f"alert     {time.strftime('%H:%M:%S', time.gmtime(a['ts'] / 1000))} {a.get('level', '')} {text}")
    return "\n".join(lines)


def _status_roots(params: Params) -> list[Path]:
    base = journal_base(params) / coin_slug(params.market.coin)
    roots = [p.parent for p in base.glob("*/status.json")]
    return sorted(roots, key=lambda r: (r / "status.json").stat().st_mtime, reverse=True)


def _pid_alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
        return True
    except (OSError, TypeError, ValueError):
        return False


def _cluster_actor(params: Params, address: str | None) -> Any:
    """The named live actor on a running cluster, or None (never starts a Ray of its own)."""
    from cluster.connect import NAMESPACE, started_cluster_address

    address = address or os.environ.get("RAY_ADDRESS") or started_cluster_address()
    if not address:
        return None
    import ray

    if not ray.is_initialized():
        try:
            ray.init(address=address, namespace=NAMESPACE, log_to_driver=False, logging_level="ERROR")
        except ConnectionError:
            return None
    try:
        return ray.get_actor(actor_name(params.market.coin), namespace=NAMESPACE)
    except ValueError:
        return None


def cmd_status(args: argparse.Namespace, params: Params) -> int:
    actor = _cluster_actor(params, args.address)
    if actor is not None:
        import ray

        st, source = ray.get(actor.status.remote(), timeout=30), "Ray actor " + actor_name(params.market.coin)
    else:
        roots = _status_roots(params)
        st = read_status(roots[0]) if roots else None
        if st is None:
            print(f"no live trader for {params.market.coin}: nothing under {journal_base(params)}; "
                  "start one with `python -m live.serve`")  # fmt: skip
            return 1
        age = time.time() - st.get("updated_ms", 0) / 1000
        alive = _pid_alive(st.get("pid"))
        source = f"{roots[0] / 'status.json'}, updated {age:.0f} s ago, process {'alive' if alive else 'gone'}"
        if not alive:
            st["running"] = False
    print(json.dumps(st, indent=2) if args.json else format_status(st, source))
    return 0


def cmd_stop(args: argparse.Namespace, params: Params) -> int:
    flatten = params.live.flatten_on_stop and not args.no_flatten
    actor = _cluster_actor(params, args.address)
    if actor is not None:
        import ray

        st = ray.get(actor.stop.remote(flatten), timeout=120)
        ray.kill(actor)
        print(format_status(st, "stopped"))
        _stop_paper_host()
        return 0
    roots = _status_roots(params)
    st = read_status(roots[0]) if roots else None
    if st is None or not st.get("running") or not _pid_alive(st.get("pid")):
        print(f"no running live trader for {params.market.coin}")
        return 1
    from live.control import LiveControl

    LiveControl(roots[0]).stop(flatten)
    print(f"asked the trader (pid {st['pid']}) to stop{' after flattening' if flatten else ''}...", flush=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        time.sleep(0.5)
        now = read_status(roots[0]) or {}
        if not now.get("running") or not _pid_alive(now.get("pid")):
            print(format_status(now, "stopped"))
            return 0
    print("the trader did not confirm within 120 s; see its journal", file=sys.stderr)
    return 1


def cmd_pause_resume(args: argparse.Namespace, params: Params) -> int:
    """Pause (no new entries; flatten first unless --no-flatten) or resume the running trader, then show it."""
    from live.control import LiveControl

    actor = _cluster_actor(params, args.address)
    roots = _status_roots(params)
    st = read_status(roots[0]) if roots else None
    if actor is None and (st is None or not st.get("running") or not _pid_alive(st.get("pid"))):
        print(f"no running live trader for {params.market.coin}")
        return 1
    ctl = LiveControl(roots[0] if roots else None, actor)
    reason = args.reason or f"operator: python -m live.serve {args.command}"
    pause = args.command == "pause"
    if pause:
        ctl.pause(reason, flatten=not args.no_flatten)
    else:
        ctl.resume(reason)
    try:
        st = ctl.wait_for(lambda s: bool((s.get("risk") or {}).get("paused")) == pause, timeout_s=120)
    except TimeoutError as exc:
        print(f"asked the trader to {args.command}; {exc}", file=sys.stderr)
        return 1
    print(format_status(st, "paused" if pause else "resumed"))
    return 0


def _stop_paper_host() -> None:
    """The paper exchange `live.serve` started on the cluster goes with the trader (its state file stays)."""
    import ray

    from cluster.connect import NAMESPACE

    try:
        host = ray.get_actor(PAPER_ACTOR, namespace=NAMESPACE)
    except ValueError:
        return
    try:
        ray.get(host.stop.remote(), timeout=30)
    finally:
        ray.kill(host)
    print("paper exchange stopped (its state file keeps accounts and orders for the next start)")


# --- start --------------------------------------------------------------------------------------------------------
def _paper_config(params: Params, speed: float, state_dir: Path) -> Any:
    """The paper exchange `live.serve` starts: params.paper_exchange, this speed, enough history, a state file."""
    from live.paper_exchange.config import PaperExchangeConfig

    return PaperExchangeConfig.from_params(
        params.paper_exchange,
        speed=speed,
        seed=params.synth.seed,
        history_bars=max(params.paper_exchange.history_bars, params.live.history_bars + 10),
        state_path=str(state_dir / "paper_exchange_state.json"),
    )


def _local_paper(params: Params, speed: float) -> Any:
    from live.paper_exchange.server import start_in_thread

    state_dir = journal_base(params) / "paper"
    state_dir.mkdir(parents=True, exist_ok=True)
    return start_in_thread(_paper_config(params, speed, state_dir))


def cmd_start(args: argparse.Namespace, params: Params, objectives: Any) -> int:
    mode = args.mode or params.live.mode
    if args.base_url and mode != "paper":
        print("error: --base-url is for a paper exchange; real venues use their own URL", file=sys.stderr)
        return 2
    speed = args.speed if args.speed is not None else params.live.paper_speed
    if speed <= 0:
        print(f"error: --speed must be > 0 bars per minute, got {speed}", file=sys.stderr)
        return 2
    placeholder = "http://127.0.0.1:0" if mode == "paper" and not args.base_url else args.base_url
    try:
        settings = prepare_settings(mode, args.strategy, params, objectives, placeholder, args.confirm_mainnet,
                                    args.registry, time_scale=speed if mode == "paper" else 1.0)  # fmt: skip
    except (ServiceError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.in_process:
        return _run_in_process(settings, params, args, speed)
    return _run_on_ray(settings, params, args, speed)


def _run_in_process(settings: ServiceSettings, params: Params, args: argparse.Namespace, speed: float) -> int:
    paper = None
    if settings.mode == "paper" and not args.base_url:
        paper = _local_paper(params, speed)
        settings.base_url = paper.url
        print(f"paper exchange on {paper.url} (synthetic prices, {speed:g} bars a minute)", flush=True)
    _join_cluster_for_the_lock(args)
    try:
        lock = acquire_trader_lock(settings)
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    trader = build_trader(settings)
    from live.alerts.service import start_trader_alerts

    alerts = start_trader_alerts(trader, say=lambda m: print(m, flush=True))
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        trader.submit(Stop(params.live.flatten_on_stop))

    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, on_signal)
    trader.start()
    print(format_status(trader.status(), "in-process"), flush=True)
    last = time.monotonic()
    try:
        while not trader.stopped:
            trader.step(0.5)
            if time.monotonic() - last >= args.status_every:
                print(format_status(trader.status()), flush=True)
                last = time.monotonic()
    finally:
        stop.set()
        if not trader.stopped:
            trader.shutdown(flatten=False)
        if alerts is not None:
            alerts.stop(flush_s=10.0)
        if paper is not None:
            paper.stop()
        lock.release()
    print("stopped", flush=True)
    return 0


def _join_cluster_for_the_lock(args: argparse.Namespace) -> None:
    """An in-process trader joins a Ray cluster that is named (--address, RAY_ADDRESS) or started on this machine
    (`ray start`), only to take the cluster-wide one-trader lock there (`live.lock`); it still trades here."""
    from cluster.connect import connect, started_cluster_address

    address = args.address or os.environ.get("RAY_ADDRESS") or started_cluster_address()
    if not address:
        return
    try:
        print(f"{connect(address)}: taking the cluster-wide one-trader lock there", flush=True)
    except ConnectionError as exc:
        print(f"note: no Ray cluster answers at {address} ({exc}); the one-trader lock covers this machine only",
              file=sys.stderr, flush=True)  # fmt: skip


def _run_on_ray(settings: ServiceSettings, params: Params, args: argparse.Namespace, speed: float) -> int:
    import ray

    from cluster.connect import NAMESPACE, connect, started_cluster_address
    from live.actor import LiveTraderActor, PaperExchangeHost, remote_class

    on_cluster = bool(args.address or os.environ.get("RAY_ADDRESS") or started_cluster_address())
    print(connect(args.address), flush=True)
    name = actor_name(params.market.coin)
    try:
        existing = ray.get_actor(name, namespace=NAMESPACE)
    except ValueError:
        existing = None
    if existing is not None:
        st = ray.get(existing.status.remote(), timeout=30)
        print(f"error: a live trader is already running as Ray actor {name}:\n{format_status(st)}\n"
              "`python -m live.serve stop` stops it.", file=sys.stderr)  # fmt: skip
        return 1
    lifetime = "detached" if on_cluster else None
    from cluster.placement import PlacementError, trading_placement

    try:
        place = trading_placement(params)
    except PlacementError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    here = ray.get_runtime_context().get_node_id()
    if args.base_url and place.node_id != here:
        from backtest.venue.sdk import is_loopback

        if is_loopback(args.base_url):
            print(f"error: --base-url {args.base_url} is on this machine (loopback), but the trading node "
                  f"({place.describe()}) is another; run this command there", file=sys.stderr)  # fmt: skip
            return 1
    paper_local = None
    if settings.mode == "paper" and not args.base_url:
        state_dir = journal_base(params) / "paper"
        if on_cluster:
            opts = {"name": PAPER_ACTOR, "namespace": NAMESPACE, "lifetime": lifetime, "get_if_exists": True}
            host = (
                remote_class(PaperExchangeHost, num_cpus=0)
                .options(**opts, **place.helper_options())
                .remote(_paper_config(params, speed, state_dir))
            )
            settings.base_url = ray.get(host.url.remote(), timeout=60)
            host_node = ray.get(host.node.remote(), timeout=30)
            if host_node != place.node_id:  # one left by an earlier start elsewhere: the trader must be beside it
                print(
                    f"error: the paper exchange actor {PAPER_ACTOR} runs on node {host_node[:8]}, not on the "
                    f"trading node ({place.describe()}); `python -m live.serve stop` stops it",
                    file=sys.stderr,
                )
                return 1
        else:
            state_dir.mkdir(parents=True, exist_ok=True)
            paper_local = _local_paper(params, speed)
            settings.base_url = paper_local.url
        print(f"paper exchange on {settings.base_url} (synthetic prices, {speed:g} bars a minute)", flush=True)
    from live.service import load_strategy_for

    try:  # refused here with a clear message; the actor takes the lock for real
        acquire_trader_lock(settings).release()
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if paper_local is not None:
            paper_local.stop()
        return 1
    strategy = load_strategy_for(settings)  # loaded here; the actor never opens the checkpoint's files
    actor_cls = remote_class(LiveTraderActor, max_restarts=0)
    actor = actor_cls.options(name=name, namespace=NAMESPACE, lifetime=lifetime, **place.trader_options()).remote(
        settings.to_dict(), None, strategy
    )
    print(f"live trader: {place.describe()}", flush=True)
    try:
        st = ray.get(actor.status.remote(), timeout=300)
    except Exception as exc:
        print(f"error: the live trader did not start: {exc}", file=sys.stderr)
        ray.kill(actor)
        return 1
    print(format_status(st, f"Ray actor {name}"), flush=True)
    if on_cluster:
        print(f"running on the cluster as detached actor {name} (namespace {NAMESPACE}); "
              "`python -m live.serve status` / `stop`", flush=True)  # fmt: skip
        return 0
    return _foreground(actor, params, args, paper_local)


def _foreground(actor: Any, params: Params, args: argparse.Namespace, paper_local: Any) -> int:
    """Local Ray: keep the driver alive, print status now and then; Ctrl-C or a stop request ends it."""
    import ray

    from live.service import journal_root

    st = ray.get(actor.status.remote())
    root = journal_root(params, params.market.coin, st["account"])
    interrupted = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: interrupted.set())
    signal.signal(signal.SIGTERM, lambda *_: interrupted.set())
    last = time.monotonic()
    try:
        while not interrupted.is_set():
            time.sleep(0.5)
            st = read_status(root) or st
            if not st.get("running", True):
                break
            if time.monotonic() - last >= args.status_every:
                print(format_status(ray.get(actor.status.remote(), timeout=30)), flush=True)
                last = time.monotonic()
        if interrupted.is_set():
            print("stopping...", flush=True)
            st = ray.get(actor.stop.remote(params.live.flatten_on_stop), timeout=120)
            print(format_status(st, "stopped"), flush=True)
    finally:
        ray.kill(actor)
        if paper_local is not None:
            paper_local.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    params, objectives = load_configs(args)
    if args.command == "status":
        return cmd_status(args, params)
    if args.command == "stop":
        return cmd_stop(args, params)
    if args.command in ("pause", "resume"):
        return cmd_pause_resume(args, params)
    return cmd_start(args, params, objectives)


if __name__ == "__main__":
    run_main(main)
