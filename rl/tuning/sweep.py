"""Run one sweep level with Ray Tune (seeded Optuna TPE + ASHA) and collect its trials.

Trials and results live under `<storage>/<name>/` (Tune's layout); the storage is a path every node reaches or a
URI (`cluster.storage`), where Tune itself writes results and checkpoints. `resume=True` restores an interrupted
experiment there (`Tuner.restore(..., resume_errored=True)`) and finishes only what had not finished.

On a cluster, a trial whose node dies (or whose worker crashes) is run again up to `retries` times
(`FailureConfig(max_failures)`), on whichever node has room; past that it counts as failed and the level still
finishes with the others. Trials hold `resources` each (default one CPU; the autopilot's hold its own custom
resource, docs/CLUSTER.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

METRIC, MODE = "score", "max"


@dataclass
class LevelResult:
    """A finished level: its trials (one row each), the winner's config and, for learning, its checkpoint.

    `candidates` holds the per-bar Sharpe of everything the selection chose among (for the deflated Sharpe): one
    per execution trial; one per reported iteration of every learning trial, since a learning trial is represented
    by its best iteration (the checkpoint that is used).
    """

    level: str
    trials: pd.DataFrame
    best_config: dict[str, Any]
    best_score: float
    best_checkpoint: str | None  # a path, or a URI when the storage is one
    path: str
    max_t: int
    candidates: list[float] = field(default_factory=list)


class TrialLine:
    """A Tune callback printing one concise line per finished trial."""

    def __new__(cls, keys: list[str], log):
        from ray.tune import Callback

        class _Line(Callback):
            def on_trial_complete(self, iteration, trials, trial, **info):
                r = trial.last_result or {}
                done = sum(t.status in ("TERMINATED", "ERROR") for t in trials) + 1
                vals = " ".join(f"{k.split('.')[-1]}={_short(trial.config.get(k))}" for k in keys)
                node = f" on node {r['node']}" if r.get("node") else ""
                log(
                    f"  trial {trial.trial_id} finished (#{done}) score {r.get('score', float('nan')):9.3f} "
                    f"after {r.get('training_iteration', 0)} it, trades {r.get('n_trades', 0)}{node} | {vals}"
                )

            def on_trial_recover(self, iteration, trials, trial, **info):
                log(f"  trial {trial.trial_id} failed (its node or worker died); running it again")

            def on_trial_error(self, iteration, trials, trial, **info):
                log(f"  trial {trial.trial_id} FAILED: {trial.error_file}")

        return _Line()


def _short(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def run_level(
    trainable: Any,
    space: dict[str, Any],
    level: str,
    name: str,
    storage: str | Path,
    trials: int,
    max_t: int,
    grace: int,
    reduction: float,
    seed: int,
    resume: bool,
    log=print,
    *,
    max_concurrent: int,
    retries: int,
    resources: dict[str, float] | None = None,
    callbacks: list[Any] | None = None,
) -> LevelResult:
    """Fit (or restore and finish) one Tune experiment under `storage` (a path or a URI); returns its trials and
    winner."""
    from optuna.samplers import TPESampler
    from ray import tune
    from ray.tune import CheckpointConfig, FailureConfig, RunConfig, TuneConfig, Tuner
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.optuna import OptunaSearch

    from cluster.storage import is_uri, join, resolve_root

    root = resolve_root(str(storage))
    path = join(root, name)
    resources = tune.with_resources(trainable, resources or {"cpu": 1})
    if resume and Tuner.can_restore(path):
        log(f"resuming {path}")
        tuner = Tuner.restore(path, trainable=resources, resume_errored=True)
    else:
        if resume:
            log(f"nothing to resume at {path}; starting fresh")
        scheduler = ASHAScheduler(
            time_attr="training_iteration", max_t=max_t, grace_period=min(grace, max_t), reduction_factor=reduction
        )
        tuner = Tuner(
            resources,
            param_space=space,
            tune_config=TuneConfig(
                metric=METRIC,
                mode=MODE,
                search_alg=OptunaSearch(sampler=TPESampler(seed=seed)),
                scheduler=scheduler,
                num_samples=trials,
                max_concurrent_trials=max_concurrent,
                reuse_actors=True,  # a trial is a fast backtest: starting a worker process per trial cost ~3 s
            ),
            run_config=RunConfig(
                name=name,
                storage_path=root,
                failure_config=FailureConfig(max_failures=retries),
                checkpoint_config=CheckpointConfig(
                    num_to_keep=1, checkpoint_score_attribute=METRIC, checkpoint_score_order=MODE
                ),
                callbacks=[TrialLine(list(space), log), *(callbacks or [])],
                verbose=0,
            ),
        )
    grid = tuner.fit()
    scheme = root.split("://", 1)[0] if is_uri(root) else None
    return collect(grid, level, path, max_t, scheme)


def collect(grid: Any, level: str, path: str | Path, max_t: int, scheme: str | None = None) -> LevelResult:
    """Trial table and winner: the best score among trials that ran every iteration (if any did).

    A trial's score is what would be used: for an execution trial its last report (the walk-forward score over all
    its folds); for a learning trial its best iteration, whose checkpoint is the one kept and used.
    """
    rows, candidates = [], []
    for res in grid:
        if res.metrics is None or METRIC not in res.metrics:
            continue
        m, history = dict(res.metrics), _history(res)
        if level == "learning" and len(history):
            scores = pd.to_numeric(history[METRIC], errors="coerce")
            if scores.notna().any():
                m.update(history.loc[scores.idxmax()].to_dict())  # the best iteration: the checkpoint kept
            if "sr_bar" in history:
                candidates += pd.to_numeric(history["sr_bar"], errors="coerce").dropna().tolist()
        else:
            candidates.append(m.get("sr_bar"))
        row = {"trial_id": res.metrics.get("trial_id"), "iterations": res.metrics.get("training_iteration", 0)}
        if level == "learning":
            row["best_iteration"] = m.get("training_iteration")
        row.update({k: m.get(k) for k in ("score", "sr_bar", "mean_sharpe", "n_trades", "monthly_return_pct")})
        row.update({k: m.get(k) for k in ("max_drawdown_pct", "profit_factor", "hold_rate_pct")})
        row.update({f"config/{k}": v for k, v in res.config.items()})
        row["checkpoint"] = _location(res.checkpoint.path, scheme) if res.checkpoint is not None else None
        row["best_checkpoint"] = _location(_best_checkpoint(res), scheme)
        row["node"] = m.get("node")
        rows.append(row)
    if not rows:
        raise RuntimeError(f"no trial of {path} reported a score; see the trial error files there")
    df = pd.DataFrame(rows)
    full = df[df["iterations"] >= max_t]
    pool = full if len(full) else df
    best = pool.loc[pool["score"].astype(float).idxmax()]
    config = {k.removeprefix("config/"): best[k] for k in df.columns if k.startswith("config/")}
    sharpes = [float(c) for c in candidates if c is not None and np.isfinite(c)]
    return LevelResult(level, df, config, float(best["score"]), best["best_checkpoint"], str(path), max_t, sharpes)


def _location(path: str | None, scheme: str | None) -> str | None:
    """A checkpoint's path inside Tune's storage filesystem as the project names it: a URI for object storage."""
    if path is None or scheme is None or "://" in path:
        return path
    return f"{scheme}://{path.lstrip('/')}" if scheme != "file" else f"file://{path}"


def _history(res: Any) -> pd.DataFrame:
    """Every report of a trial (one row per iteration), or an empty frame."""
    frame = getattr(res, "metrics_dataframe", None)
    return frame if isinstance(frame, pd.DataFrame) and METRIC in frame else pd.DataFrame()


def _best_checkpoint(res: Any) -> str | None:
    try:
        ck = res.get_best_checkpoint(METRIC, MODE)
    except (RuntimeError, ValueError, KeyError):
        ck = None
    ck = ck or res.checkpoint
    return ck.path if ck is not None else None
