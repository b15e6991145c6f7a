"""A whole sweep: levels in order (learning, then execution over the learning winner), then the winner's one test.

Outputs under `<storage>/<name>/`: Tune experiments `learning/` and/or `execution/`, `best_params.yaml` (a full,
validated params file with the winner's values), `trials.csv`, `summary.json`, `report.html` (the sweep) and
`test_report/report.html` (`backtest.report.write_report` of the winner on the test span). The winner is registered
as a candidate in the model registry with its test figures and gate verdict.

The storage is a path or a URI (`cluster.storage`, docs/CLUSTER.md): Tune writes its experiments there; the driver
writes the other outputs into a local folder uploaded there (`cluster.storage.staged`). Trials read nothing from
the driver's disk: the market slices, the bars of learning trials and a file-backed strategy (`LoadedSpec`) travel
through Ray's object store.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from backtest.config import Objectives, Params, load_params
from backtest.data.inspect import shares_text
from cluster.atomic import atomic_write_json
from cluster.storage import is_within, join, registry_root, resolve_root, runs_root, staged, storage_root
from rl.gate import GateVerdict, gate_check
from rl.registry import Registry
from rl.splits import splits_for
from rl.tuning.execution_sweep import execution_trainable, run_folds
from rl.tuning.register import load_market, register_result
from rl.tuning.report import write_sweep_report
from rl.tuning.space import SearchSpace, apply_config, tune_space
from rl.tuning.stats import deflated_sharpe
from rl.tuning.sweep import LevelResult, run_level
from rl.tuning.walkforward import backtest_split, fold_windows, selection_span, slice_span

BUILTIN_SPECS = ("rules", "buyhold")


@dataclass
class SweepOptions:
    name: str
    level: str  # execution | learning | both
    strategy: str
    trials: int
    source: str
    days: float | None
    storage: str | Path  # results root of sweeps: a path or a URI
    max_concurrent: int  # trials at a time (rl.tune --concurrent, autopilot.max_concurrent_trials)
    retries: int  # runs again a trial whose node died (cluster.trial_retries)
    resume: bool = False
    registry: str | Path | None = None
    seed: int = 0
    trial_resources: dict[str, float] | None = None  # what each trial holds (default one CPU)
    callbacks: list[Any] = field(default_factory=list)  # extra Ray Tune callbacks (progress, tests)


@dataclass
class SweepOutcome:
    out: str  # <storage>/<name>: a path or a URI
    best_params_path: str
    report: str
    test_metrics: dict[str, Any]
    verdict: GateVerdict
    live_verdict: GateVerdict
    entry: dict[str, Any]
    levels: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def write_params(params: Params, path: Path) -> Path:
    """A full params YAML, re-validated by the loader after writing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# Written by python -m rl.tune: configs/params.yaml with the sweep winner's values.\n"
    path.write_text(header + yaml.safe_dump(params.model_dump(mode="json"), sort_keys=False))
    load_params(path)
    return path


def _execution_level(opts, space, params, objectives, spec, loaded, data, log) -> tuple[LevelResult, list]:
    from ray import tune

    bars, market, features, provenance = data
    splits = splits_for(market.n_bars, params)
    windows = fold_windows(selection_span(splits, spec not in BUILTIN_SPECS), space.score.folds)
    slices = [slice_span(bars, market, features, provenance, w, params.backtest.warmup_bars) for w in windows]
    dims = space.dimensions("execution")
    keys = list(dims)
    log(f"execution level: {opts.trials} trials of {spec!r} over {len(windows)} folds {windows}")
    trainable = tune.with_parameters(
        execution_trainable,
        base=params,
        objectives=objectives,
        spec=loaded,
        slices=slices,
        keys=keys,
        penalty=space.score.spread_penalty,
        no_trade=space.score.no_trade_score,
    )
    result = run_level(
        trainable, tune_space(dims), "execution", "execution", join(opts.storage, opts.name), opts.trials,
        len(windows), space.asha.grace_period, space.asha.reduction_factor, opts.seed, opts.resume, log,
        max_concurrent=opts.max_concurrent, retries=opts.retries, resources=opts.trial_resources,
        callbacks=opts.callbacks,
    )  # fmt: skip
    return result, slices


def portable_spec(spec: str, params: Params) -> Any:
    """What execution trials receive: a strategy backed by files (checkpoint, ensemble, `ppo`/`dqn`/`ensemble`, a
    storage URI) read here, once (`rl.policy.LoadedSpec`, built by each trial with its params); names (rules,
    buyhold, `package.module:Class`) as they are, resolved in the trial without any file."""
    if spec in BUILTIN_SPECS:
        return spec
    from rl.policy import load_spec

    loaded = load_spec(spec, runs_root(params) if spec in ("ppo", "dqn", "ensemble") else None)
    return spec if loaded is None else loaded


def _learning_level(opts, space, params, data, log) -> LevelResult:
    from ray import tune

    from backtest.data.load import Dataset
    from rl.tuning.learning_sweep import learning_trainable

    dims = space.dimensions("learning")
    lc = space.learning
    log(f"learning level: {opts.trials} trials of {lc.algo}, {lc.iterations} iterations x {lc.iter_steps} steps")
    trainable = tune.with_parameters(
        learning_trainable,
        base=params,
        source=opts.source,
        days=opts.days,
        keys=list(dims),
        algo=lc.algo,
        iterations=lc.iterations,
        iter_steps=lc.iter_steps,
        folds=space.score.folds,
        penalty=space.score.spread_penalty,
        no_trade=space.score.no_trade_score,
        dataset=Dataset(data[0], data[3]),  # the driver's bars: trials never open the data store
    )
    return run_level(
        trainable, tune_space(dims), "learning", "learning", join(opts.storage, opts.name), opts.trials,
        lc.iterations, space.asha.grace_period, space.asha.reduction_factor, opts.seed, opts.resume, log,
        max_concurrent=opts.max_concurrent, retries=opts.retries, resources=opts.trial_resources,
        callbacks=opts.callbacks,
    )  # fmt: skip


def _dsr(spec, params, objectives, slices, space, candidates: list[float]) -> dict[str, Any]:
    """Deflated Sharpe of the winner (its per-bar returns over the folds) among every candidate selected from."""
    returns = [r for _, r in run_folds(spec, params, objectives, slices, space.score.spread_penalty, 0.0)]
    return deflated_sharpe(np.concatenate(returns), candidates).to_dict()


def run_sweep(
    params: Params, objectives: Objectives, space: SearchSpace, opts: SweepOptions, log=print
) -> SweepOutcome:
    """Run the requested levels, test the winner once, write outputs and register it."""
    t0 = time.perf_counter()
    out = join(resolve_root(str(opts.storage)), opts.name)  # a path or a URI
    with staged(out) as local:
        return _run_sweep(params, objectives, space, opts, log, out, local, t0)


def _run_sweep(params, objectives, space, opts, log, out: str, local: Path, t0: float) -> SweepOutcome:
    data = load_market(params, opts.source, opts.days)
    bars, market, features, provenance = data
    log(f"data: {market.n_bars:,} bars ({provenance['source']}: {shares_text(provenance)})")
    spec, best, levels, validation = opts.strategy, params, [], {}
    selected_from: list[float] = []  # per-bar Sharpes of every candidate chosen among so far (deflated Sharpe)
    loaded = portable_spec(spec, params)  # a file-backed strategy read once, here
    if opts.level in ("learning", "both"):
        lr = _learning_level(opts, space, params, data, log)
        if not lr.best_checkpoint:
            raise RuntimeError("the learning winner saved no checkpoint")
        best = apply_config(best, lr.best_config, list(space.dimensions("learning")))
        spec = lr.best_checkpoint
        loaded = portable_spec(spec, params)
        split = splits_for(market.n_bars, params)
        slices = [
            slice_span(bars, market, features, provenance, w, params.backtest.warmup_bars)
            for w in fold_windows(split.validation, space.score.folds)
        ]
        selected_from = list(lr.candidates)
        levels.append(_level_doc(lr, space, _dsr(loaded, best, objectives, slices, space, selected_from)))
        validation = _winner_row(lr)
    if opts.level in ("execution", "both"):
        er, slices = _execution_level(opts, space, best, objectives, spec, loaded, data, log)
        best = apply_config(best, er.best_config, list(space.dimensions("execution")))
        selected_from += er.candidates  # with --level both, the learning level's choices count too
        levels.append(_level_doc(er, space, _dsr(loaded, best, objectives, slices, space, selected_from)))
        validation = _winner_row(er)
    kind = _kind_of(loaded)
    write_params(best, local / "best_params.yaml")
    best_path = join(out, "best_params.yaml")
    outcome = backtest_split(loaded, best, objectives, bars, market, features, provenance)
    verdict = gate_check(outcome.metrics, objectives, outcome.min_trades)
    live = gate_check(outcome.metrics, objectives, outcome.min_trades, for_live=True)
    from backtest.report import write_report

    test_report = write_report(
        outcome.result, outcome.metrics, verdict.check, local / "test_report",
        f"Sweep {opts.name}: winner on test span", best.model_dump(mode="json"),
    )  # fmt: skip
    location = _kept(loaded, spec, out, local, [storage_root(params), resolve_root(str(opts.storage))], log)
    entry = register_result(
        Registry(opts.registry if opts.registry is not None else registry_root(params)),
        kind,
        best_path if kind == "rules-params" else location,
        best,
        objectives,
        outcome,
        {"sweep": out, "params_file": best_path, "strategy": location, "seed": best.rl.seed,
         "data": {"source": opts.source, "days": opts.days,
                  **{k: provenance.get(k) for k in ("share_real", "share_proxy", "share_synthetic")}}},
        validation,
        f"sweep {opts.name} winner",
    )  # fmt: skip
    summary = {
        "name": opts.name,
        "description": f"level {opts.level}, strategy {opts.strategy}, {opts.trials} trials per level, "
        f"data {opts.source} {opts.days or params.backtest.days} days; score = mean(fold Sharpe) - "
        f"{space.score.spread_penalty} x std over {space.score.folds} walk-forward folds",
        "gate": verdict.to_dict(),
        "live_gate": live.to_dict(),
        "test": outcome.metrics,
        "test_report": str(test_report.relative_to(local)),
        "registry_id": entry["id"],
        "best_params": best_path,
        "levels": [{k: v for k, v in lv.items() if k != "trials"} for lv in levels],
    }
    report = write_sweep_report(local, summary, levels)
    pd.concat([lv["trials"].assign(level=lv["level"]) for lv in levels]).to_csv(local / "trials.csv", index=False)
    atomic_write_json(local / "summary.json", {**summary, "seconds": time.perf_counter() - t0})
    return SweepOutcome(out, best_path, join(out, report.name), outcome.metrics, verdict, live, entry, levels,
                        time.perf_counter() - t0)  # fmt: skip


def _kept(loaded: Any, spec: str, out: str, local: Path, roots: list[str], log) -> str:
    """Where the registry entry points for a file-backed strategy: its own location when that is on the storage
    (`cluster.storage`), else a copy kept in the sweep's folder (`<sweep>/strategy/`), so that every node and every
    later driver finds it there."""
    location = getattr(loaded, "location", None)
    if location is None:
        return spec
    if any(is_within(location, root) for root in roots):
        return location
    loaded.copy_to(local / "strategy")
    log(f"kept a copy of {location} (outside the storage {roots[0]}) in the sweep: strategy/")
    return join(out, "strategy")


def _kind_of(loaded: Any) -> str:
    """Registry kind of what the sweep tuned: a trained policy's algo, "ensemble", or "rules-params"."""
    if getattr(loaded, "kind", None) == "policy":
        return loaded.members[0][2]["algo"]
    if getattr(loaded, "kind", None) == "ensemble":
        return "ensemble"
    return "rules-params"


def _level_doc(res: LevelResult, space: SearchSpace, dsr: dict[str, Any]) -> dict[str, Any]:
    keys = list(space.dimensions(res.level))
    cfg = {k: (v.item() if hasattr(v, "item") else v) for k, v in res.best_config.items()}
    return {"level": res.level, "trials": res.trials, "keys": keys, "dsr": dsr, "best_config": cfg,
            "best_score": res.best_score, "path": str(res.path)}  # fmt: skip


def _winner_row(res: LevelResult) -> dict[str, Any]:
    df = res.trials
    row = df[pd.to_numeric(df["score"], errors="coerce") == res.best_score].iloc[0]
    return json.loads(row.drop([c for c in row.index if c.startswith("config/")]).to_json())
