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
from typing import Any

from pydantic import ValidationError

from backtest.cli import add_config_args, load_configs, schema_type
from backtest.config import ConfigError, field_bounds
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


# flag -> (field of PaperExchangeConfig, help); type, bounds and default come from the schema (and the params file)
SERVER_FLAGS: dict[str, tuple[str, str]] = {
    "--host": ("host", "bind address (default %(default)s; loopback only is safest)"),
    "--port": ("port", "TCP port, 0 picks a free one (default %(default)s)"),
    "--data": ("data", "'synthetic' (backtest.data.synth) or a Parquet file/dir of 1m bars (default %(default)s)"),
    "--speed": ("speed", "1m bars replayed per wall minute; 60 = one bar a second, 0 = manual (POST /admin/step)"),
    "--seed": ("seed", "seed of the synthetic bars and of every fault stream (default %(default)s)"),
    "--bars": ("n_bars", "synthetic bars to generate (default %(default)s)"),
    "--history-bars": ("history_bars", "bars already replayed at start, the candle history (default %(default)s)"),
    "--spread-bps": ("spread_bps", "full bid/ask spread, basis points (default %(default)s)"),
    "--taker-fee": (
        "taker_fee",
        "every account's base taker rate, fraction (its userFees userCrossRate; default "
        "%(default)s: None = the venue's base tier 0, backtest/venue/fees.py)",
    ),
    "--maker-fee": (
        "maker_fee",
        "every account's base maker rate, fraction, negative = a rebate (default "
        "%(default)s: None = the venue's base tier 0)",
    ),
    "--deployer-fee-scale": (
        "deployer_fee_scale",
        "builder dex (HIP-3): fees are the base rates x (s + max(s, 1)); 1 = standard HIP-3, 2x (default %(default)s)",
    ),
    "--funding-rate-hourly": ("funding_rate_hourly", "fraction per hour; longs pay if > 0 (default %(default)s)"),
}
FAULT_FLAGS: dict[str, tuple[str, str]] = {
    "--fail-rate": ("fail_rate", "probability of HTTP 500 per request"),
    "--rate-limit-rate": ("rate_limit_rate", "probability of HTTP 429 per request"),
    "--latency-ms": ("latency_ms", "added latency per /info and /exchange request"),
    "--ws-drop-every": ("ws_drop_every", "drop all WebSockets every N seconds (0 = never)"),
    "--freeze-after": ("freeze_after", "freeze the price feed after N seconds (0 = never)"),
    "--reject-rate": ("reject_rate", "probability an order is rejected"),
}


def _key(name: str) -> str:
    """How a field is named in errors: its params key when it is one (paper_exchange.port), else the field."""
    from live.paper_exchange.config import PaperExchangeParams

    return f"paper_exchange.{name}" if name in PaperExchangeParams.model_fields else name


def config_defaults(argv: list[str] | None = None) -> PaperExchangeConfig:
    """PaperExchangeConfig from the params file's `paper_exchange:` section (honouring --config and --set)."""
    pre = argparse.ArgumentParser(add_help=False)
    add_config_args(pre)
    known, _ = pre.parse_known_args(argv)
    return PaperExchangeConfig.from_params(load_configs(known)[0].paper_exchange)


def build_parser(d: PaperExchangeConfig) -> argparse.ArgumentParser:
    """The command line, with `d`'s values as defaults (the params file's section, then the schema's)."""
    p = argparse.ArgumentParser(
        prog="python -m live.paper_exchange",
        description="Loopback HyperLiquid-compatible paper exchange (HTTP /info, /exchange; WebSocket /ws). "
        "Point the unmodified SDK at the printed URL: Info(url, perp_dexs=['', 'xyz']), Exchange(wallet, url, ...). "
        "Defaults: the paper_exchange section of configs/params.yaml (--config, --set), bounds as there.",
    )
    for flag, (name, text) in SERVER_FLAGS.items():
        _add(p, flag, PaperExchangeConfig, name, getattr(d, name), text, _key(name))
    p.add_argument(
        "--growth-mode",
        dest="growth_mode",
        action=argparse.BooleanOptionalAction,
        default=d.growth_mode,
        help="builder-dex markets in growth mode: fees x 0.1, needs --deployer-fee-scale <= 1 (default %(default)s)",
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
        default="fsync" if d.journal_fsync else "write",
        help="fsync: every acknowledged action is fdatasync'ed first (survives kill -9 and power loss; default); "
        "write: written to the OS before the reply (survives kill -9, not a power cut; faster on slow disks)",
    )
    add_config_args(p)
    g = p.add_argument_group("fault injection (seeded by --seed, reproducible)")
    for flag, (name, text) in FAULT_FLAGS.items():
        _add(g, flag, FaultConfig, name, getattr(d.faults, name), text, name)
    return p


def _add(p: Any, flag: str, model: Any, name: str, default: Any, text: str, key: str) -> None:
    """A flag typed, bounded and documented by field `name` of `model`."""
    bounds = field_bounds(model, [name])
    p.add_argument(
        flag,
        dest=name,
        metavar=flag.removeprefix("--").upper().replace("-", "_"),
        type=schema_type(model, name, key),
        default=default,
        help=text + (f"; allowed {bounds}" if bounds else ""),
    )


def parse_args(argv: list[str] | None = None) -> PaperExchangeConfig:
    """Map the command line onto a PaperExchangeConfig (defaults from configs/params.yaml, bounds from the schema)."""
    p = build_parser(config_defaults(argv))
    a = p.parse_args(argv)
    if a.state is not None:
        from live.paper_exchange.state import StateError, check_state_path

        try:
            check_state_path(a.state)
        except StateError as exc:
            p.error(str(exc))
    try:
        faults = FaultConfig(**{name: getattr(a, name) for name, _ in FAULT_FLAGS.values()}, seed=a.seed)
        return PaperExchangeConfig(
            **{name: getattr(a, name) for name, _ in SERVER_FLAGS.values()},
            growth_mode=a.growth_mode,
            state_path=a.state,
            journal_fsync=a.journal_sync == "fsync",
            fund=tuple(a.fund),
            faults=faults,
        )
    except ValidationError as exc:  # a rule across flags (e.g. --fail-rate + --rate-limit-rate <= 1)
        p.error("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors()))


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
