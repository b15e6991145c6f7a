"""`python -m rl.tune`: Ray Tune + Optuna sweeps over execution and learning parameters, scored out of sample.

    python -m rl.tune --trials 50 --data synthetic --days 180 --level execution --strategy rules
    python -m rl.tune --trials 8 --level learning --days 30
    python -m rl.tune --name my-sweep --resume          # finish an interrupted sweep

The search space is `configs/search_space.yaml`; scoring, folds and outputs are described in docs/TUNING.md and
rl/tuning/walkforward.py. Runs on a local Ray by default, or on a cluster (`--address` / RAY_ADDRESS, a `ray start`
cluster on this machine, or as a Ray job: `ray job submit -- python -m rl.tune`); results go to
`<cluster.storage>/runs/tune` (docs/CLUSTER.md).
"""

from __future__ import annotations

from cluster.preflight import require_project_env

require_project_env("python -m rl.tune")

import argparse  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

from backtest.cli import add_config_args, check_writable_dir, load_configs, run_main  # noqa: E402
from backtest.config import Override  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m rl.tune", description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=50, help="trials per level (default 50)")
    p.add_argument(
        "--data", choices=["synthetic", "hybrid", "proxy", "real"], help="data source (default backtest.data_source)"
    )
    p.add_argument("--days", type=float, help="days of bars (default backtest.days)")
    p.add_argument("--level", choices=["execution", "learning", "both"], default="execution")
    p.add_argument(
        "--strategy", default="rules", help="fixed strategy for execution sweeps: rules | <checkpoint> | ensemble"
    )
    p.add_argument("--space", type=Path, help="search space YAML (default configs/search_space.yaml)")
    p.add_argument("--storage", help="results root, a path or a URI (default <cluster.storage>/runs/tune)")
    p.add_argument("--name", help="experiment name (default <level>-<strategy>-<UTC time>)")
    p.add_argument("--resume", action="store_true", help="resume --name (default: the newest sweep in --storage)")
    p.add_argument("--address", help="Ray cluster address (default RAY_ADDRESS, else a local Ray)")
    p.add_argument("--registry", help="registry folder or URI (default <cluster.storage>/registry)")
    p.add_argument("--seed", type=int, default=0, help="Optuna TPE seed (default 0)")
    p.add_argument("--concurrent", type=int, default=2, help="trials at a time (default 2)")
    add_config_args(p)
    return p


def _name(args: argparse.Namespace, storage: str) -> str:
    if args.name:
        return args.name
    if args.resume:
        from cluster.storage import is_uri, list_dirs

        if is_uri(storage):
            sweeps = list_dirs(storage)  # names end with a UTC time; the last one sorts newest
        else:
            found = sorted((p for p in Path(storage).glob("*") if p.is_dir()), key=lambda p: p.stat().st_mtime)
            sweeps = [p.name for p in found]
        if sweeps:
            return sweeps[-1]
    slug = "".join(c if c.isalnum() else "-" for c in Path(args.strategy).name)[:30]
    return f"{args.level}-{slug}-{datetime.now(UTC):%Y%m%dT%H%M%S}"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    extra = [Override.flag("--data", "backtest.data_source", args.data)] if args.data else []
    if args.days is not None:
        extra.append(Override.flag("--days", "backtest.days", args.days))
    params, objectives = load_configs(args, extra)

    from cluster.storage import StorageError, check_reachable, is_uri, registry_root, resolve_root, tune_root

    storage = resolve_root(args.storage) if args.storage else tune_root(params)
    if not is_uri(storage):
        check_writable_dir(storage, "--storage")

    from backtest.config import ConfigError
    from backtest.strategies.registry import resolve_strategy
    from cluster import connect
    from rl.registry.views import list_table
    from rl.tuning.pipeline import SweepOptions, run_sweep
    from rl.tuning.space import load_space

    space = load_space(args.space, params)
    if args.level == "execution":
        resolve_strategy(args.strategy, params)  # fail fast on a bad --strategy
    opts = SweepOptions(
        name=_name(args, storage),
        level=args.level,
        strategy=args.strategy,
        trials=args.trials,
        source=params.backtest.data_source,
        days=params.backtest.days,
        storage=storage,
        resume=args.resume,
        registry=args.registry or registry_root(params),
        max_concurrent=args.concurrent,
        seed=args.seed,
        retries=params.cluster.trial_retries,
    )
    print(connect(args.address))
    try:
        if params.cluster.check_storage:
            print(check_reachable(storage, "--storage" if args.storage else "cluster.storage"))
            check_reachable(str(opts.registry), "--registry" if args.registry else "the registry", nodes=False)
    except StorageError as exc:
        raise ConfigError(str(exc)) from None
    print(f"sweep {opts.name} -> {opts.storage}/{opts.name}")
    res = run_sweep(params, objectives, space, opts)
    for lv in res.levels:
        top = lv["trials"].sort_values("score", ascending=False).head(10)
        cols = ["trial_id", "score", "iterations", "best_iteration", "mean_sharpe", "n_trades", "monthly_return_pct"]
        cols += [f"config/{k}" for k in lv["keys"]]
        print(f"\n{lv['level']} level: top trials of {len(lv['trials'])}")
        print(top[[c for c in cols if c in top]].to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        d = lv["dsr"]
        print(
            f"winner: per-bar Sharpe {d['sharpe']:.4g} over {d['n_obs']} bars; expected max of {d['n_trials']} "
            f"candidates {d['sr0']:.4g}; PSR(0) {d['psr0']:.3f}; deflated Sharpe {d['dsr']:.3f}"
        )
    print("\nwinner on the test span (gate, paper use):")
    print(res.verdict.table())
    print(f"for live use: {'PASSES' if res.live_verdict.passed else 'FAILS ' + str(res.live_verdict.failed)}")
    print(f"\nregistered {res.entry['id']} as candidate")
    print(list_table([res.entry]))
    print(f"best params: {res.best_params_path}")
    print(f"report: {res.report}")
    print(f"done in {res.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    run_main(main)
