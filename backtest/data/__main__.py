"""Command line for the market-data layer:
`python -m backtest.data {fetch,record,import,funding,synth,hybrid,inspect,fees}`.

Every subcommand reads `configs/params.yaml` (or `--config PATH`) with `--set section.key=value` overrides.
Configuration and data errors print one clear paragraph and exit with status 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

import pandas as pd

from backtest.cli import add_config_args, check_writable_dir, load_configs
from backtest.config import ConfigError, Override, Params, interval_seconds
from backtest.data.hyperliquid import fetch_to_store
from backtest.data.inspect import format_summary, summarize
from backtest.data.load import DATA_SOURCES, data_root, load_dataset, off_session_info
from backtest.data.recorder import Recorder, install_stop_signals
from backtest.data.schema import DataError, validate_bars
from backtest.data.store import NAMESPACES, BarStore
from backtest.data.synth import DEFAULT_START, generate_bars
from backtest.venue.calendar import calendar_for
from backtest.venue.feed import SdkFeed
from backtest.venue.limits import CANDLE_HISTORY_LIMIT
from backtest.venue.retry import RetryError

log = logging.getLogger("backtest.data")


def _common(p: argparse.ArgumentParser) -> None:
    add_config_args(p)
    p.add_argument("--data-dir", help="store root (default params.backtest.data_dir)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m backtest.data",
        description="Market data for AML-100: fetch and record HyperLiquid candles, generate synthetic or hybrid "
        "bars, and summarise what the Parquet store holds (namespaces real/ and synthetic/).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    f = sub.add_parser(
        "fetch", help=f"download recent candles over REST (the API keeps only the latest {CANDLE_HISTORY_LIMIT})"
    )
    _common(f)
    f.add_argument("--days", type=float, default=4.0, help="how far back to ask for (default 4)")
    f.add_argument("--base-url", help="API base URL (default params.market.base_url)")
    f.add_argument("--no-progress", action="store_true", help="no progress bar")

    r = sub.add_parser("record", help="record closed candles from the WebSocket until Ctrl-C, backfilling gaps")
    _common(r)
    r.add_argument("--base-url", help="API base URL (default params.market.base_url)")
    r.add_argument("--stale-after", type=float, default=90.0, help="reconnect after this many silent seconds")

    im = sub.add_parser(
        "import",
        help="import a proxy market's minute bars from vendor files (CSV, CSV.gz, zip, Parquet) into proxy/",
        description="Read vendor bar files (Databento OHLCV-1m, FirstRate/Kibot-style CSV, broker exports), check "
        "every row, merge the files, map the proxy's level to the market's (futures to spot, then a ratio fitted on "
        "real HyperLiquid bars where they overlap) and store them labelled 'proxy'. Nothing is written unless every "
        "row of every file passes; the same files imported again add nothing.",
    )
    _common(im)
    im.add_argument("files", nargs="+", metavar="FILE", help="vendor files (several: a vendor's yearly files)")
    im.add_argument("--symbol", default="NQ", help="what the file holds: NQ / MNQ futures (or a contract code), "
                    "NDX (the index), or another symbol (a ratio is fitted, or --ratio); default NQ")  # fmt: skip
    im.add_argument("--to", help="the market the bars stand in for (default params.market.coin)")
    im.add_argument("--columns", help="the file's columns in order, e.g. date,time,open,high,low,close,volume "
                    "(names: timestamp date time open high low close volume trades symbol skip)")  # fmt: skip
    im.add_argument("--tz", help="zone of local (zone-less) timestamps, e.g. America/New_York (default: detected)")
    im.add_argument("--ts-unit", choices=("s", "ms", "us", "ns"), help="unit of epoch timestamps (default: by size)")
    im.add_argument("--ts-format", help="strptime format of the timestamps (default: detected)")
    im.add_argument("--bar-stamp", choices=("open", "close"), help="timestamps mark the bar's open or close "
                    "(close-stamped bars are shifted back one bar; default: detected, else open)")  # fmt: skip
    im.add_argument("--r-q", type=float, dest="r_minus_q", help="futures: r - q a year (default 0.04)")
    im.add_argument("--roll-days", type=int, help="futures: days before expiry the front month rolls (default 8)")
    im.add_argument("--ratio", type=float, help="a fixed scale to the market's level instead of fitting one")
    im.add_argument("--price-scale", type=float, help="multiply the file's prices (default: 1e-9 for fixed-point)")
    im.add_argument("--dry-run", action="store_true", help="check and report only; write nothing")

    fu = sub.add_parser(
        "funding",
        help="import hourly funding rates from local copies of HyperLiquid's archive (asset_ctxs CSV, .lz4/.gz)",
    )
    _common(fu)
    fu.add_argument("files", nargs="+", metavar="FILE", help="asset_ctxs files (e.g. 20250101.csv.lz4)")
    fu.add_argument("--coin", help="the archive's coin name (default params.market.coin)")

    s = sub.add_parser("synth", help="generate seeded synthetic bars into the synthetic namespace of the store")
    _common(s)
    s.add_argument("--days", type=float, help="span in days (default params.backtest.days)")
    s.add_argument("--start", help="first bar open time, UTC (default 2026-01-01)")

    h = sub.add_parser("hybrid", help="summarise real bars plus calibrated synthetic bars for the requested span")
    _common(h)
    h.add_argument("--days", type=float, help="span in days (default params.backtest.days)")

    fe = sub.add_parser(
        "fees",
        help="ask the venue what it charges this market (meta, perpDexs; userFees with --user) and cache the answer "
        "under <data-dir>/venue/fees/, where backtests read it; --show prints the schedule a backtest would charge",
    )
    _common(fe)
    fe.add_argument("--base-url", help="API base URL (default params.market.base_url)")
    fe.add_argument("--user", help="account address: its own rates (userFees) instead of base tier 0")
    fe.add_argument("--show", action="store_true", help="print the schedule a backtest charges now; ask nothing")

    i = sub.add_parser("inspect", help="summarise stored bars (or a dataset: --data real|proxy|synthetic|hybrid)")
    _common(i)
    i.add_argument("--namespace", choices=NAMESPACES, default="real", help="store namespace to read")
    i.add_argument("--data", choices=DATA_SOURCES, help="summarise load_dataset(...) instead")
    i.add_argument("--days", type=float, help="span in days for --data (default params.backtest.days)")
    return parser


def _params(args: argparse.Namespace) -> Params:
    extra = [Override.flag("--data-dir", "backtest.data_dir", args.data_dir)] if args.data_dir else []
    return load_configs(args, extra)[0]


def _cmd_fetch(args: argparse.Namespace, params: Params) -> None:
    store = BarStore(data_root(params))
    report = fetch_to_store(
        store,
        args.base_url or params.market.base_url,
        params.market.coin,
        params.market.dex,
        params.backtest.interval,
        args.days,
        params.market.request_timeout_s,
        progress=not args.no_progress,
    )
    print(report.message())
    bars = store.read(params.market.coin, params.backtest.interval, "real")
    print(format_summary(summarize(bars, params.backtest.bar_seconds), f"store real/{params.market.coin}"))


def _cmd_record(args: argparse.Namespace, params: Params) -> None:
    base_url = args.base_url or params.market.base_url
    m = params.market
    rec = Recorder(
        lambda: SdkFeed(base_url, m.dex, m.request_timeout_s),
        BarStore(data_root(params)),
        m.coin,
        params.backtest.interval,
        stale_after_s=args.stale_after,
    )
    print(f"recording {m.coin} {params.backtest.interval} from {base_url} into {data_root(params)}; Ctrl-C stops")
    with install_stop_signals(rec.stop):
        stats = rec.run()
    print(f"stopped: {stats.recorded} bars recorded, {stats.backfilled} backfilled, {stats.reconnects} reconnects")


def _cmd_synth(args: argparse.Namespace, params: Params) -> None:
    days = args.days if args.days is not None else params.backtest.days
    interval_s = interval_seconds(params.backtest.interval)
    n = round(days * 86400 / interval_s)
    start = pd.Timestamp(args.start, tz="UTC") if args.start else DEFAULT_START
    t0 = time.perf_counter()
    calendar = calendar_for(params.market.coin)
    bars = generate_bars(n, params.synth, start=start, interval_s=interval_s, calendar=calendar)
    bars = validate_bars(bars, "synthetic bars")
    elapsed = time.perf_counter() - t0
    off = off_session_info(params, bars)
    store = BarStore(data_root(params))
    written = store.append(bars, params.market.coin, params.backtest.interval)
    folder = store.folder(params.market.coin, params.backtest.interval, "synthetic")
    hours = "24/7" if off is None else f"off-session rules on {off['closed_share']:.0%} of bars ({off['calendar']})"
    print(f"generated {n} bars in {elapsed:.3f} s (seed {params.synth.seed}, edge {params.synth.edge.enabled}, "
          f"{hours}); wrote {len(written)} day files under {folder}")  # fmt: skip
    print(format_summary(summarize(bars, interval_s), "synthetic"))


def _cmd_hybrid(args: argparse.Namespace, params: Params) -> None:
    ds = load_dataset(params, "hybrid", args.days)
    print(format_summary(summarize(ds.bars, params.backtest.bar_seconds, _calendar(params)), "hybrid"))
    print(dataset_notes(ds.provenance, params))


def dataset_notes(prov: dict, params: Params) -> str:
    """What a dataset's provenance says beyond the summary: the proxy's mapping, the gap fill, the prefix."""
    lines = []
    proxy = prov.get("proxy")
    if proxy:
        from backtest.data.vendor.transform import Transform

        t = Transform.from_dict(proxy["transform"])
        lines.append(f"  proxy {proxy['symbol']} -> {params.market.coin}: {t.describe()}")
    fill = prov.get("fill")
    if fill:
        lines.append(
            f"  synthetic fill: {fill['closed_bars']:,} closed-session bars (quiet x{fill['closed_vol_multiplier']}, "
            f"band +-{(fill.get('band_frac') or 0) * 100:.1f} % around the ~1 h average), {fill['in_session_bars']:,} "
            f"in-session bars, {fill['prefix_bars']:,} bars before the first real/proxy bar"
        )
    funding = prov.get("funding") or {}
    if funding.get("hours"):
        lines.append(f"  funding: {funding['source']}, {funding['hours']:,} hours ({funding['coverage']:.0%} of the "
                     f"span), mean {funding['mean_hourly'] * 100:.5f} % an hour")  # fmt: skip
    if prov.get("synth_config"):
        cal = prov["synth_config"]
        lines.append(f"  real_weight {params.backtest.real_weight}; the prefix uses annual_vol {cal['annual_vol']:.3f}")
    return "\n".join(lines)


def _calendar(params: Params):
    from backtest.venue.calendar import calendar_for

    return calendar_for(params.market.coin)


def _cmd_inspect(args: argparse.Namespace, params: Params) -> None:
    iv = params.backtest.bar_seconds
    if args.data:
        ds = load_dataset(params, args.data, args.days)
        print(format_summary(summarize(ds.bars, iv, _calendar(params)), args.data))
        notes = dataset_notes(ds.provenance, params)
        if notes:
            print(notes)
        return
    store = BarStore(data_root(params))
    bars = store.read(params.market.coin, params.backtest.interval, args.namespace)
    where = store.folder(params.market.coin, params.backtest.interval, args.namespace)
    print(format_summary(summarize(bars, iv, _calendar(params)), f"{where}"))
    if args.namespace == "proxy":
        from backtest.data.load import proxy_info
        from backtest.data.vendor.importer import read_meta

        info = proxy_info(read_meta(where) or {})
        if info:
            print(dataset_notes({"proxy": info}, params))
            print(f"  imported from {len(info['files'])} file(s): {', '.join(info['files'][:3])}")


def _cmd_import(args: argparse.Namespace, params: Params) -> None:
    from backtest.data.vendor.importer import ImportOptions, import_files
    from backtest.data.vendor.read import parse_columns_option

    opts = ImportOptions(
        symbol=args.symbol,
        to=args.to or params.market.coin,
        interval=params.backtest.interval,
        columns=parse_columns_option(args.columns) if args.columns else None,
        tz=args.tz,
        ts_unit=args.ts_unit,
        ts_format=args.ts_format,
        bar_stamp=args.bar_stamp,
        r_minus_q=args.r_minus_q,
        roll_days=args.roll_days,
        ratio=args.ratio,
        price_scale=args.price_scale,
        dry_run=args.dry_run,
    )
    report = import_files(args.files, BarStore(data_root(params)), opts)
    print(f"import {len(args.files)} file(s) as {opts.symbol} -> {opts.to} {opts.interval}:")
    print("\n".join(report.lines()))


def _cmd_funding(args: argparse.Namespace, params: Params) -> None:
    from backtest.data.funding import import_funding

    coin = args.coin or params.market.coin
    stored, path = import_funding(args.files, data_root(params), coin)
    first = pd.Timestamp(int(stored["hour"].iloc[0]), unit="ms", tz="UTC")
    last = pd.Timestamp(int(stored["hour"].iloc[-1]), unit="ms", tz="UTC")
    print(f"funding {coin}: {len(stored):,} hourly rates stored ({first} .. {last}), mean "
          f"{stored['funding'].mean() * 100:.5f} % an hour; {path}")  # fmt: skip


def _cmd_fees(args: argparse.Namespace, params: Params) -> None:
    from backtest.venue.fees import fetch_schedule, resolve_fees, save_cache
    from backtest.venue.retry import call_with_retry
    from backtest.venue.sdk import make_info

    if not args.show:
        m = params.market
        base_url = args.base_url or m.base_url
        user = args.user.lower() if args.user else None
        if user is not None and not (user.startswith("0x") and len(user) == 42):
            raise ConfigError(f"--user {args.user!r}: expected an address, 0x and 40 hex digits")
        info = make_info(base_url, m.dex, m.request_timeout_s)
        try:
            sched, raw = call_with_retry(lambda: fetch_schedule(info, m.coin, user, base_url), f"fees from {base_url}")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:  # an answer without the venue's shape
            raise DataError(f"fees from {base_url}: unexpected answer ({type(exc).__name__}: {exc})") from None
        path = save_cache(data_root(params), sched, raw)
        print(f"venue: {sched.label()}\ncached in {path}")
    print(f"a backtest of {params.market.coin} charges: {resolve_fees(params).label()}")


COMMANDS = {"fetch": _cmd_fetch, "record": _cmd_record, "import": _cmd_import, "funding": _cmd_funding,
            "synth": _cmd_synth, "hybrid": _cmd_hybrid, "inspect": _cmd_inspect, "fees": _cmd_fees}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        params = _params(args)
        writes = args.command in ("fetch", "record", "synth", "import", "funding")
        if writes or (args.command == "fees" and not args.show):  # they write the store: find out now
            check_writable_dir(data_root(params), "--data-dir")
        COMMANDS[args.command](args, params)
    except (ConfigError, DataError, RetryError) as exc:
        kind = type(exc).__name__
        print(f"error ({kind}): " + " ".join(str(exc).split()), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
