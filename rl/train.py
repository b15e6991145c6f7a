"""Train LSTM-PPO / LSTM-DQN (RLlib new API stack) on the simulator env, with validation early stopping.

    python -m rl.train [--algo ppo|dqn|ensemble] [--timesteps N] [--data synthetic|hybrid|proxy|real] [--days D]
                       [--config PATH] [--set k=v ...] [--out DIR] [--seed S] [--iter-steps N]

Each iteration: one RLlib `train()` (about `--iter-steps` env steps, default one episode), then a validation
backtest of the greedy policy through the backtester's runner (`rl.evaluate`: the same path, segments and global
drawdown halt as `python -m backtest --start/--end` on the validation span). The validation score is the Sharpe
ratio after fees and slippage; a run whose trade count is below the trade-density circuit breaker
(`backtest.min_trades_threshold`, scaled to the validation span's length) scores min(Sharpe, 0): holding ranks
above bleeding and below a policy that earns over enough trades. The best-scoring iteration is saved to
`<out>/<algo>/<time>-seed<seed>/best/` with `aml100_meta.json` (and the run's `train_summary.json` beside it);
training stops after `rl.early_stop_patience` iterations without improvement, after `rl.epochs`
iterations, at `--timesteps`, or when `--minutes` of wall clock are spent.

Runs go to `--out`, by default `<cluster.storage>/runs` (a path, or a URI: trained in a local folder, then uploaded),
where backtests, sweeps, the registry and the live trader find them from any node (docs/CLUSTER.md).
"""

from __future__ import annotations

from cluster.preflight import require_project_env

require_project_env("python -m rl.train")

import argparse  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from backtest.cli import add_config_args, check_writable_dir, load_configs, run_main, schema_type  # noqa: E402
from backtest.config import BacktestConfig, Objectives, Params, load_objectives  # noqa: E402
from backtest.metrics import compute_metrics  # noqa: E402
from backtest.venue.fees import resolve_fees  # noqa: E402
from rl import checkpoint as ck  # noqa: E402
from rl.collapse import CollapseMonitor, IterationStats  # noqa: E402
from rl.config import RLConfig  # noqa: E402
from rl.data import Prepared, prepare, shares  # noqa: E402
from rl.device import describe  # noqa: E402
from rl.evaluate import span_result  # noqa: E402
from rl.policy import RLPolicyStrategy  # noqa: E402

VALIDATION_METRIC = "sharpe"
ALGOS = ("ppo", "dqn")
SUMMARY_FILE = "train_summary.json"  # per run: iterations, best iteration, env steps, timings, collapses


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (RLlib gets the same seed through `debugging(seed=...)`)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def set_torch_threads(threads: int) -> None:
    """Torch's intra-op threads in this process (`rl.torch_threads`; 0 leaves torch's default of one per core).

    Training runs the env runner and the learner in this process: with one thread per core, torch's threads spin
    against each other and against anything else on the cores (measured on 2 shared cores: 15-20x slower).
    """
    if threads > 0 and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def ensure_ray(address: str | None = None) -> None:
    """Join `address` / RAY_ADDRESS / a `ray start` cluster (its dashboard shows training), else a small local Ray.

    Ray must be up before build_algo, which would otherwise start a big local instance with a dashboard.
    """
    import ray

    if not ray.is_initialized():
        from cluster import connect

        print(connect(address, object_store_mb=256))


def validation_score(metrics: dict[str, Any], params: Params) -> float:
    """Sharpe after costs; below the (span-scaled) trade-density circuit breaker, min(Sharpe, 0).

    So a policy that never trades (0) ranks above one that bleeds (negative Sharpe) and below any that trades
    enough with a positive Sharpe: on data without an edge the kept checkpoint holds instead of bleeding, and a few
    lucky trades never beat a policy that earns over many. (The gate still refuses too few trades.)
    """
    needed = max(1.0, params.backtest.min_trades_threshold * metrics["days"] / params.backtest.days)
    sharpe = float(metrics[VALIDATION_METRIC])
    return sharpe if metrics["n_trades"] >= needed else min(sharpe, 0.0)


def data_hint(params: Params, source: str | None) -> str:
    """What the training data is, for the collapse monitor's advice."""
    if (source or params.backtest.data_source) != "synthetic":
        return ""
    return "planted edge" if params.synth.edge.enabled else "random walk"


def learner_stats(result: dict[str, Any]) -> tuple[float | None, float | None]:
    """(entropy, mean KL of the update) of the PPO learner this iteration; (None, None) for DQN."""
    stats = result.get("learners", {}).get("default_policy", {})
    entropy, kl = stats.get("entropy"), stats.get("mean_kl_loss")
    return (None if entropy is None else float(entropy)), (None if kl is None else float(kl))


def epsilon_now(params: Params, steps: int) -> float:
    """DQN's exploration rate after `steps` sampled steps (the linear schedule of `rl.epsilon`)."""
    eps = params.rl.epsilon
    return eps.start + (eps.end - eps.start) * min(1.0, steps / eps.decay_steps)


def iteration_line(
    algo: str,
    it: int,
    steps: int,
    ret: float | None,
    metrics: dict[str, Any],
    stats: IterationStats,
    change: float | None,
    params: Params,
    seconds: float,
    improved: bool,
) -> str:
    """One console line per iteration: validation after costs, the greedy decisions (HOLD/BUY/SELL shares and how
    many changed since the last iteration), the sampled policy (PPO entropy and update KL; DQN epsilon)."""
    ret_text = "      --" if ret is None or ret != ret else f"{float(ret):8.2f}"  # no episode finished yet
    h, b, s = (100 * stats.shares()).round().astype(int)
    chg = "   --" if change is None else f"{100 * change:4.1f}%"
    if stats.entropy is not None:
        explore = f"ent {stats.entropy:5.3f} kl {stats.kl if stats.kl is not None else float('nan'):7.1e}"
    else:
        explore = f"eps {epsilon_now(params, steps):4.2f}"
    return (
        f"[{algo}] iter {it:3d} | steps {steps:7d} | ep_ret {ret_text} | "
        f"val {VALIDATION_METRIC} {metrics[VALIDATION_METRIC]:7.2f} pnl {metrics['total_return_pct']:6.2f}% "
        f"trades {metrics['n_trades']:4d} | H/B/S {h:3d}/{b:3d}/{s:3d}% chg {chg} | {explore} | "
        f"{seconds:6.1f}s{' *' if improved else ''}"
    )


def span_info(prepared: Prepared) -> dict[str, Any]:
    ts = prepared.market.ts
    out: dict[str, Any] = {}
    for name, (lo, hi) in prepared.splits.to_dict().items():
        out[name] = {
            "bars": [lo, hi],
            "start": datetime.fromtimestamp(ts[lo] / 1000, UTC).isoformat(),
            "end": datetime.fromtimestamp(ts[hi - 1] / 1000, UTC).isoformat(),
            **{f"share_{k}": v for k, v in shares(prepared, (lo, hi)).items()},
        }
    return out


def data_text(algo: str, prepared: Prepared) -> str:
    """`[ppo] data: N bars (hybrid: real x % / proxy y % / synthetic z %); train ..., validation ..., test ...`."""
    from backtest.data.inspect import shares_text

    prov = prepared.provenance
    parts = []
    for name, span in prepared.splits.to_dict().items():
        parts.append(f"{name} {shares_text({f'share_{k}': v for k, v in shares(prepared, tuple(span)).items()})}")
    return f"[{algo}] data: {prepared.market.n_bars:,} bars ({prov.get('source')}: {shares_text(prov)}); " + "; ".join(
        parts
    )


def metadata(
    algo: str, params: Params, prepared: Prepared, seed: int, source: str, days: float | None, **extra: Any
) -> dict[str, Any]:
    return {
        "algo": algo,
        "seed": seed,
        "config": params.model_dump(mode="json"),
        "data": {
            "source": source,
            "days": days,
            "share_real": prepared.provenance.get("share_real"),
            "share_proxy": prepared.provenance.get("share_proxy", 0.0),
            "share_synthetic": prepared.provenance.get("share_synthetic"),
            "splits": span_info(prepared),
            "provenance": prepared.provenance,
        },
        "feature_names": prepared.feature_names,
        "norm": prepared.norm.to_dict(),
        "fees": resolve_fees(params, recorded=prepared.provenance.get("fees")).to_dict(),
        "code_version": ck.git_commit(),
        "device": describe(),
        "validation_metric": VALIDATION_METRIC,
        **extra,
    }


def _result_value(result: dict[str, Any], key: str) -> Any:
    from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS

    return result.get(key, result.get(ENV_RUNNER_RESULTS, {}).get(key))


def train_one(
    algo: str,
    params: Params,
    timesteps: int,
    source: str,
    days: float | None,
    out_root: Path,
    seed: int | None = None,
    iter_steps: int | None = None,
    log: Callable[[str], None] = print,
    max_seconds: float | None = None,
    objectives: Objectives | None = None,
) -> Path:
    """Train one algorithm; returns the best checkpoint directory (with its metadata).

    `objectives` (default configs/objectives.yaml) set the simulator's drawdown halt in validation backtests.
    """
    from ray.rllib.utils.metrics import EPISODE_RETURN_MEAN, NUM_ENV_STEPS_SAMPLED_LIFETIME

    from rl.algos import build, iteration_steps

    seed = params.rl.seed if seed is None else seed
    seed_everything(seed)
    set_torch_threads(params.rl.torch_threads)
    prepared = prepare(params, source, days)
    objectives = objectives or load_objectives()
    env_config = {
        "params": params.model_dump(mode="json"),
        "objectives": objectives.model_dump(mode="json"),
        "source": source,
        "days": days,
        "seed": seed,
        "fees": prepared.provenance.get("fees"),  # env runners charge what this process read from the venue
    }
    steps = iteration_steps(params, iter_steps)
    ensure_ray()
    run_dir = out_root / algo / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-seed{seed}"
    best_dir = run_dir / "best"
    log(f"[{algo}] device {describe()}, {steps} steps/iteration, run {run_dir}")
    log(data_text(algo, prepared))
    trainer = build(algo, params, env_config, seed, steps)
    monitor = CollapseMonitor(algo, edge_hint=data_hint(params, source))
    best, best_it, since_best, t0, sampled, train_s = -float("inf"), 0, 0, time.perf_counter(), 0, 0.0
    it = 0
    try:
        for it in range(1, params.rl.epochs + 1):
            t_train = time.perf_counter()
            result = trainer.train()
            train_s += time.perf_counter() - t_train
            sampled = int(_result_value(result, NUM_ENV_STEPS_SAMPLED_LIFETIME) or 0)
            ret = _result_value(result, EPISODE_RETURN_MEAN)
            policy = RLPolicyStrategy.from_module(
                trainer.get_module(), prepared.norm, prepared.feature_names, params.trading.min_q_diff, f"rl-{algo}"
            )
            validation = span_result(policy, prepared, params, prepared.splits.validation, objectives)
            metrics = compute_metrics(validation)
            score = validation_score(metrics, params)
            improved = score > best
            stats = IterationStats(it, validation.actions, *learner_stats(result))
            warning = monitor.observe(stats)
            log(
                iteration_line(
                    algo,
                    it,
                    sampled,
                    ret,
                    metrics,
                    stats,
                    monitor.last_change,
                    params,
                    time.perf_counter() - t0,
                    improved,
                )
            )
            if warning:
                log(warning)
            if improved:
                best, best_it, since_best = score, it, 0
                shutil.rmtree(best_dir, ignore_errors=True)
                trainer.save_to_path(str(best_dir.resolve()))
                meta = metadata(
                    algo,
                    params,
                    prepared,
                    seed,
                    source,
                    days,
                    timesteps=sampled,
                    iteration=it,
                    validation=metrics,
                    validation_score=score,
                    objectives=objectives.model_dump(mode="json"),
                )
                ck.write_json(best_dir / ck.META_FILE, meta)
            else:
                since_best += 1
                if since_best >= params.rl.early_stop_patience:
                    log(f"[{algo}] early stop: {since_best} iterations without validation improvement")
                    break
            if sampled >= timesteps:
                break
            if max_seconds is not None and time.perf_counter() - t0 >= max_seconds:
                log(f"[{algo}] time budget of {max_seconds:.0f}s spent")
                break
    finally:
        trainer.stop()
    wall = time.perf_counter() - t0
    ck.write_json(
        run_dir / SUMMARY_FILE,
        {
            "algo": algo,
            "seed": seed,
            "iterations": it,
            "best_iteration": best_it,
            "best_score": best,
            "env_steps": sampled,
            "seconds": wall,
            "train_seconds": train_s,
            "env_steps_per_second_trained": sampled / train_s if train_s > 0 else None,
            "collapses": monitor.collapsed,
        },
    )
    log(f"[{algo}] best validation score {best:.3f} -> {best_dir}")
    return best_dir


def write_manifest(out_root: Path, members: dict[str, Path], seed: int) -> Path:
    """Ensemble manifest naming its member checkpoints (paths relative to the manifest when possible)."""
    run_dir = out_root / "ensemble" / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-seed{seed}"
    entries = {name: os.path.relpath(path.resolve(), run_dir.resolve()) for name, path in members.items()}
    return ck.write_json(
        run_dir / ck.MANIFEST_FILE, {"members": entries, "tie_break": "hold", "fallback": "rules", "seed": seed}
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m rl.train", description=__doc__.split("\n\n")[0])
    ap.add_argument("--algo", choices=[*ALGOS, "ensemble"], default=None, help="default: rl.algo")
    ap.add_argument(
        "--timesteps",
        type=int,
        default=None,
        help="env timesteps to train at most, per algorithm (default: rl.epochs iterations of --iter-steps)",
    )
    ap.add_argument(
        "--data",
        choices=["synthetic", "hybrid", "proxy", "real"],
        default=None,
        help="default: backtest.data_source (hybrid: real, then proxy, then labelled synthetic bars)",
    )
    ap.add_argument(
        "--days",
        type=schema_type(BacktestConfig, "days", "backtest.days"),
        default=None,
        help="days of bars (default: backtest.days)",
    )
    ap.add_argument("--address", default=None, help="Ray cluster address (default: RAY_ADDRESS, else local Ray)")
    add_config_args(ap)
    ap.add_argument("--out", default=None, help="runs directory or URI (default: <cluster.storage>/runs, i.e. runs/)")
    ap.add_argument("--seed", type=schema_type(RLConfig, "seed", "rl.seed"), default=None, help="default: rl.seed")
    ap.add_argument("--iter-steps", type=int, default=None, help="env steps per iteration (default: rl.episode_bars)")
    ap.add_argument("--minutes", type=float, default=None, help="wall-clock budget per algorithm")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    params, objectives = load_configs(args)
    from backtest.config import ConfigError
    from cluster.storage import StorageError, check_reachable, is_uri, join, resolve_root, runs_root, staged

    out = resolve_root(args.out) if args.out else runs_root(params)
    if not is_uri(out):
        check_writable_dir(out, "--out")
    timesteps = args.timesteps or params.rl.epochs * (args.iter_steps or params.rl.episode_bars)
    ensure_ray(args.address)
    try:
        if params.cluster.check_storage:
            check_reachable(out, "--out" if args.out else "cluster.storage", nodes=False)  # only this process writes
    except StorageError as exc:
        raise ConfigError(str(exc)) from None
    algo = args.algo or params.rl.algo
    source = args.data or params.backtest.data_source
    seed = params.rl.seed if args.seed is None else args.seed
    names = ALGOS if algo == "ensemble" else (algo,)
    with staged(out) as out_root:
        best = {
            name: train_one(
                name,
                params,
                timesteps,
                source,
                args.days,
                out_root,
                seed,
                args.iter_steps,
                max_seconds=None if args.minutes is None else args.minutes * 60.0,
                objectives=objectives,
            )
            for name in names
        }
        manifest = write_manifest(out_root, best, seed) if algo == "ensemble" else None
    if is_uri(out):  # where the runs are now, as other commands name them
        for name, path in best.items():
            print(f"[{name}] checkpoint: {join(out, *path.relative_to(out_root).parts)}")
    if manifest is not None:
        where = join(out, *manifest.relative_to(out_root).parts) if is_uri(out) else manifest
        print(f"ensemble manifest: {where}")
    return 0


if __name__ == "__main__":
    run_main(main)
