"""`python -m backtest`: a chunked, Ray-parallel backtest with metrics, objectives check and an HTML report."""

from __future__ import annotations

import time

STARTED = time.perf_counter()  # the printed run time counts imports too (not the interpreter's own start, ~25 ms)

from cluster.preflight import require_project_env  # noqa: E402

require_project_env("python -m backtest")

import argparse  # noqa: E402
import sys  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

from tqdm import tqdm  # noqa: E402

from backtest.cli import add_config_args, check_writable_dir, load_configs, run_main  # noqa: E402
from backtest.config import Override  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m backtest",
        description="Backtest a strategy over chunked segments spread across Ray actors. Prints the headline figures "
        "and the objectives table, and writes a report folder (metrics.json, trades, equity, report.html).",
        epilog="example: python -m backtest --days 180 --data synthetic --strategy rules --workers 2",
    )
    p.add_argument("--days", type=float, help="span in days (default backtest.days)")
    p.add_argument(
        "--data",
        choices=["real", "proxy", "synthetic", "hybrid"],
        help="data source (default backtest.data_source): real HyperLiquid bars; proxy = real, then an imported "
        "proxy's bars (closed sessions stay gaps); hybrid = real, then proxy, then labelled synthetic; synthetic",
    )
    p.add_argument(
        "--strategy",
        default="rules",
        help="rules | buyhold | oracle (synthetic data with the edge on only) | ensemble | ppo | dqn | <checkpoint "
        "directory> (default rules)",
    )
    p.add_argument(
        "--start",
        help="trade from the bar opening at this UTC time (e.g. 2026-01-19T12:00); default: after the warm-up bars",
    )
    p.add_argument("--end", help="last bar to trade (UTC open time, inclusive); default: the last loaded bar")
    p.add_argument("--workers", type=int, help="Ray actors (default backtest.max_workers); 0 runs in this process")
    p.add_argument("--chunk-size", type=int, help="bars per segment (default backtest.chunk_size)")
    p.add_argument("--seed", type=int, help="simulation seed (default backtest.seed)")
    p.add_argument("--address", help="Ray cluster address (default: RAY_ADDRESS, else a local Ray)")
    p.add_argument(
        "--out", help="report folder or URI (default <cluster.storage>/<reports_dir>/<time>_<strategy>_<data>)"
    )
    p.add_argument("--no-report", action="store_true", help="skip the HTML report (metrics are still printed)")
    add_config_args(p)
    return p


def main(argv: list[str] | None = None, started: float | None = None) -> int:
    """The command; `started` (perf_counter) is when the program began, for the printed run time."""
    t0 = time.perf_counter() if started is None else started
    args = build_parser().parse_args(argv)
    extra = []
    if args.days is not None:
        extra.append(Override.flag("--days", "backtest.days", args.days))
    if args.data:
        extra.append(Override.flag("--data", "backtest.data_source", args.data))
    if args.chunk_size is not None:
        extra.append(Override.flag("--chunk-size", "backtest.chunk_size", args.chunk_size))
    if args.seed is not None:
        extra.append(Override.flag("--seed", "backtest.seed", args.seed))
    if args.workers is not None:
        extra.append(Override(f"backtest.max_workers={max(1, args.workers)}", f"--workers {args.workers}"))
    params, objectives = load_configs(args, extra)
    workers = 0 if args.workers == 0 else params.backtest.max_workers
    from cluster.storage import is_uri, join, reports_root, resolve_root

    reports = resolve_root(args.out) if args.out else reports_root(params)
    if not args.no_report:  # the report is written last: find out now, not after the whole run, if it cannot be
        _check_out(reports, "--out" if args.out else "cluster.storage / backtest.reports_dir", params)

    from backtest.data.load import load_dataset
    from backtest.features import compute_features
    from backtest.gaps import breaks
    from backtest.metrics import compute_metrics
    from backtest.objectives import check_objectives
    from backtest.report import headline
    from backtest.runner import plan, run_backtest, start_workers
    from backtest.sim import Market
    from backtest.spans import slice_span, window_of
    from backtest.strategies.registry import resolve_strategy

    strategy = resolve_strategy(args.strategy, params)  # fail fast on a bad --strategy, before data and Ray
    ray_s = 0.0
    if workers > 0:  # Ray first: the workers start up (~1 s of imports) while this process loads the data
        from cluster import connect

        t_ray = time.perf_counter()
        print(connect(args.address))
        ray_s = time.perf_counter() - t_ray
        start_workers(workers, strategy)
    dataset = load_dataset(params)
    bars = dataset.bars
    print(data_line(dataset, params))
    features = compute_features(bars, params.trading, params.market.coin)
    market = Market.from_bars(bars, params, dataset.funding_hourly)
    provenance = dataset.provenance
    if args.start or args.end:
        try:
            window = window_of(bars, args.start, args.end)
        except ValueError as exc:  # a bad time or a span outside the loaded bars
            print(f"error: --start/--end: {exc}", file=sys.stderr)
            return 2
        span = slice_span(bars, market, features, provenance, window, params.backtest.warmup_bars)
        market, features, provenance = span.market, span.features, span.provenance
        print(f"span: bars {window[0]:,}..{window[1] - 1:,} ({provenance['start']} .. {provenance['end']})")
    n_segments = len(plan(market, params).segments)
    with tqdm(total=n_segments, desc=f"backtest {args.strategy}", unit="seg", leave=False, disable=None) as bar:
        result = run_backtest(strategy, params, objectives, market, features, provenance, workers, bar.update)
    metrics = compute_metrics(result)
    if params.execution.any_maker:  # the taker-only twin: same strategy, data and seed, every order at market
        from backtest.config import with_overrides
        from backtest.execution_metrics import cost_per_round_trip_bps

        taker = with_overrides(params, [f"execution.{k}=market" for k in ("entry", "exit", "take_profit")])
        twin = run_backtest(strategy, taker, objectives, market, features, provenance, workers)
        twin_metrics = compute_metrics(twin)
        metrics.update(
            twin_fees_paid=twin_metrics["fees_paid"],
            twin_total_return_pct=twin_metrics["total_return_pct"],
            twin_n_trades=twin_metrics["n_trades"],
            twin_cost_per_round_trip_bps=cost_per_round_trip_bps(twin),
        )
    check = check_objectives(metrics, objectives, params.backtest.min_trades_threshold)
    elapsed = time.perf_counter() - t0 - ray_s
    print(headline(metrics))
    print(check.table())
    ray_note = f" (+ Ray start {ray_s:.1f} s)" if ray_s >= 0.05 else ""
    n_breaks = len(breaks(market.ts, market.bar_seconds))
    cut = f" (cut at {n_breaks} gaps)" if n_breaks else ""
    print(
        f"segments: {n_segments} x {params.backtest.chunk_size} bars{cut}, workers: {workers or 'in-process'}, "
        f"{elapsed:.2f} s{ray_note}"
    )
    if not args.no_report:
        from backtest.report import write_report
        from cluster.storage import staged

        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        out = reports if args.out else join(reports, f"{stamp}_{_slug(args.strategy)}_{dataset.provenance['source']}")
        with staged(out) as local:
            path = write_report(result, metrics, check, local, f"Backtest: {result.strategy}",
                                params.model_dump(mode="json"))  # fmt: skip
        print(f"report: {join(out, path.name) if is_uri(out) else path}")
    return 0


def data_line(dataset, params) -> str:
    """`data: N bars of COIN 1m (source: shares real / proxy / synthetic) first .. last`, plus the gap rule when the
    bars have holes (`backtest.gaps`)."""
    from backtest.data.inspect import shares_text

    bars, prov = dataset.bars, dataset.provenance
    first, last = bars["timestamp"].iloc[0], bars["timestamp"].iloc[-1]
    line = (
        f"data: {len(bars):,} bars of {params.market.coin} {params.backtest.interval} "
        f"({prov['source']}: {shares_text(prov)}) {first} .. {last}"
    )
    labels = prov.get("gap_labels") or {}
    if labels:
        held = ", ".join(f"{k.replace('_', ' ')} {v['gaps']}" for k, v in labels.items())
        line += f"\ngaps: {held}, left as gaps; no position is held across one over 15 minutes (backtest/gaps.py)"
    return line


def _check_out(location: str, what: str, params) -> None:
    """The report's destination, checked before any work: a writable folder, or a storage URI we can write."""
    from backtest.config import ConfigError
    from cluster.storage import StorageError, check_reachable, is_uri

    if not is_uri(location):
        check_writable_dir(location, "--out")
    if params.cluster.check_storage:
        try:
            check_reachable(location, what, nodes=False)  # only this process writes the report
        except StorageError as exc:
            raise ConfigError(str(exc)) from None


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in Path(text).name)[:40] or "strategy"


if __name__ == "__main__":
    run_main(lambda: main(started=STARTED))
