"""CLI: `python -m live.paper_exchange --port 8089 --data synthetic --speed 60 --seed 1 --fund 0xADDR:10000`.

Defaults come from the `paper_exchange:` section of configs/params.yaml (or `--config`, `--set`); flags override them.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import re
import sys

from backtest.cli import add_config_args, load_configs
from backtest.config import ConfigError
from live.paper_exchange.config import FaultConfig, PaperExchangeConfig


def _fund(text: str) -> tuple[str, float]:
    addr, _, usd = text.partition(":")
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", addr) or not usd:
        raise argparse.ArgumentTypeError(f"expects ADDRESS:USD (0x + 40 hex digits), got {text!r}")
    try:
        amount = float(usd)
    except ValueError:
        amount = math.nan
    if not math.isfinite(amount) or amount < 0:
        raise argparse.ArgumentTypeError(f"USD must be a finite amount >= 0, got {usd!r} in {text!r}")
    return addr.lower(), amount


def _number(lo: float, hi: float = math.inf, integer: bool = False, lo_open: bool = False):
    """An argparse type: a finite number in [lo, hi] (or (lo, hi] with `lo_open`)."""

    def parse(text: str) -> float:
        try:
            x = int(text) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expects {'an integer' if integer else 'a number'}, got {text!r}"
            ) from None
        if not math.isfinite(x) or x < lo or x > hi or (lo_open and x == lo):
            bound = f"{'>' if lo_open else '>='} {lo:g}" + ("" if hi == math.inf else f" and <= {hi:g}")
            raise argparse.ArgumentTypeError(f"expects a finite number {bound}, got {text!r}")
        return x

    return parse


def config_defaults(argv: list[str] | None = None) -> PaperExchangeConfig:
    """PaperExchangeConfig from the params file's `paper_exchange:` section (honouring --config and --set)."""
    pre = argparse.ArgumentParser(add_help=False)
    add_config_args(pre)
    known, _ = pre.parse_known_args(argv)
    return PaperExchangeConfig.from_params(load_configs(known)[0].paper_exchange)


def parse_args(argv: list[str] | None = None) -> PaperExchangeConfig:
    """Map the command line onto a PaperExchangeConfig (defaults from configs/params.yaml)."""
    d = config_defaults(argv)
    f = FaultConfig()
    p = argparse.ArgumentParser(
        prog="python -m live.paper_exchange",
        description="Loopback HyperLiquid-compatible paper exchange (HTTP /info, /exchange; WebSocket /ws). "
        "Point the unmodified SDK at the printed URL: Info(url, perp_dexs=['', 'xyz']), Exchange(wallet, url, ...).",
    )
    p.add_argument("--host", default=d.host, help="bind address (default %(default)s; loopback only is safest)")
    p.add_argument(
        "--port",
        type=_number(0, 65535, integer=True),
        default=d.port,
        help="TCP port, 0 picks a free one (default %(default)s)",
    )
    p.add_argument("--data", default=d.data, help="'synthetic' (backtest.data.synth) or a Parquet file/dir of 1m bars")
    p.add_argument(
        "--speed",
        type=_number(0),
        default=d.speed,
        help="1m bars replayed per wall minute; 60 = one bar a second, 0 = manual (POST /admin/step)",
    )
    p.add_argument(
        "--seed",
        type=_number(0, 2**32 - 1, integer=True),
        default=d.seed,
        help="seed of the synthetic bars and of every fault stream",
    )
    p.add_argument(
        "--bars",
        type=_number(2, 10**8, integer=True),
        default=d.n_bars,
        help="synthetic bars to generate (default %(default)s)",
    )
    p.add_argument(
        "--history-bars",
        type=_number(0, 10**8, integer=True),
        default=d.history_bars,
        help="bars already replayed at start (candle history)",
    )
    p.add_argument(
        "--fund",
        type=_fund,
        action="append",
        default=[],
        metavar="ADDRESS:USD",
        help="create and fund an account (repeatable)",
    )
    p.add_argument(
        "--state",
        default=None,
        metavar="PATH",
        help="state file (snapshot) plus its write-ahead journal PATH.journal: every acknowledged action is on disk "
        "before the reply, and a restart (even after kill -9) replays it",
    )
    p.add_argument(
        "--journal-sync",
        choices=("fsync", "write"),
        default="fsync",
        help="fsync: every acknowledged action is fdatasync'ed first (survives kill -9 and power loss; default); "
        "write: written to the OS before the reply (survives kill -9, not a power cut; faster on slow disks)",
    )
    p.add_argument(
        "--spread-bps", type=_number(0, 10_000), default=d.spread_bps, help="full bid/ask spread, basis points"
    )
    p.add_argument(
        "--taker-fee", type=_number(0, 0.1), default=d.taker_fee, help="taker fee, fraction (default %(default)s)"
    )
    p.add_argument(
        "--maker-fee", type=_number(0, 0.1), default=d.maker_fee, help="maker fee, fraction (default %(default)s)"
    )
    p.add_argument(
        "--hip3-fee-multiplier", type=_number(0, 100), default=d.hip3_fee_multiplier, help="builder-dex fee multiple"
    )
    p.add_argument(
        "--funding-rate-hourly",
        type=_number(-0.1, 0.1),
        default=d.funding_rate_hourly,
        help="fraction per hour; longs pay if > 0",
    )
    add_config_args(p)
    g = p.add_argument_group("fault injection (seeded by --seed, reproducible)")
    g.add_argument("--fail-rate", type=_number(0, 1), default=f.fail_rate, help="probability of HTTP 500 per request")
    g.add_argument(
        "--rate-limit-rate", type=_number(0, 1), default=f.rate_limit_rate, help="probability of HTTP 429 per request"
    )
    g.add_argument(
        "--latency-ms",
        type=_number(0, 60_000),
        default=f.latency_ms,
        help="added latency per /info and /exchange request",
    )
    g.add_argument(
        "--ws-drop-every", type=_number(0), default=f.ws_drop_every, help="drop all WebSockets every N seconds"
    )
    g.add_argument(
        "--freeze-after", type=_number(0), default=f.freeze_after, help="freeze the price feed after N seconds"
    )
    g.add_argument("--reject-rate", type=_number(0, 1), default=f.reject_rate, help="probability an order is rejected")
    a = p.parse_args(argv)
    if a.state is not None:
        from live.paper_exchange.state import StateError, check_state_path

        try:
            check_state_path(a.state)
        except StateError as exc:
            p.error(str(exc))
    if a.fail_rate + a.rate_limit_rate > 1:
        p.error("--fail-rate + --rate-limit-rate must not exceed 1")
    faults = FaultConfig(
        a.fail_rate, a.rate_limit_rate, a.latency_ms, a.ws_drop_every, a.freeze_after, a.reject_rate, a.seed
    )
    return PaperExchangeConfig(
        host=a.host,
        port=a.port,
        data=a.data,
        speed=a.speed,
        seed=a.seed,
        n_bars=a.bars,
        history_bars=a.history_bars,
        spread_bps=a.spread_bps,
        taker_fee=a.taker_fee,
        maker_fee=a.maker_fee,
        hip3_fee_multiplier=a.hip3_fee_multiplier,
        funding_rate_hourly=a.funding_rate_hourly,
        state_path=a.state,
        journal_fsync=a.journal_sync == "fsync",
        fund=tuple(a.fund),
        faults=faults,
    )


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        cfg = parse_args(argv)
    except ConfigError as exc:
        print(f"paper exchange: {exc}", file=sys.stderr)
        return 2
    from live.paper_exchange.journal import JournalError
    from live.paper_exchange.server import ListenError, serve

    try:
        _run(serve(cfg))
    except KeyboardInterrupt:
        return 0
    except (FileNotFoundError, ImportError, ValueError, ListenError, JournalError) as exc:
        print(f"paper exchange: {exc}", file=sys.stderr)
        return 2
    return 0


async def _until_terminated(coro) -> None:
    """Run `coro`; SIGTERM cancels it, so the server shuts down cleanly (final snapshot, journal emptied)."""
    import signal

    task = asyncio.ensure_future(coro)
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise


def _run(coro) -> None:
    """Run on uvloop when it is installed (less event-loop overhead per request), else on asyncio."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(_until_terminated(coro))
    else:
        uvloop.run(_until_terminated(coro))


if __name__ == "__main__":
    sys.exit(main())
