"""Learning-level trials: train a small policy per trial with the trial's reward weights / learning rate.

Each training iteration (one RLlib `train()`) is followed by walk-forward validation of the greedy policy on the
validation span (consecutive fold windows, each backtested through `backtest.runner.run_backtest` by
`rl.evaluate.span_result`, as every fold of an execution sweep is) and one `tune.report`, so ASHA can stop a poor
trial after any iteration. The shaped training reward is never the score. The best iteration is saved as a Tune
checkpoint that is also an AML-100 checkpoint (RLlib files + `aml100_meta.json`), loadable by `rl.policy.load_strategy`.

The bars come from the driver through the object store (`dataset`), so a trial on a node without the data store
trains on the very bars the driver loaded; Tune copies the checkpoint to the sweep's storage (`cluster.storage`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from backtest.config import Params
from rl.tuning.execution_sweep import fold_report
from rl.tuning.space import apply_config
from rl.tuning.walkforward import fold_score, fold_windows


def learning_trainable(
    config: dict[str, Any],
    base: Params,
    source: str,
    days: float | None,
    keys: list[str],
    algo: str,
    iterations: int,
    iter_steps: int,
    folds: int,
    penalty: float,
    no_trade: float,
    dataset: Any = None,
) -> None:
    """Ray Tune function trainable: train `algo` for up to `iterations`, reporting the validation score each time.

    `dataset` (a `backtest.data.load.Dataset`) is the driver's bars; None loads them here (`source`, `days`)."""
    import torch
    from ray import tune

    from backtest.metrics import bar_returns, compute_metrics
    from rl import checkpoint as ck
    from rl.algos import build, iteration_steps
    from rl.data import prepare
    from rl.evaluate import span_result
    from rl.policy import RLPolicyStrategy
    from rl.train import metadata, seed_everything
    from rl.tuning.execution_sweep import node_id

    torch.set_num_threads(1)
    params = apply_config(base, config, keys)
    seed = params.rl.seed
    seed_everything(seed)
    prepared = prepare(params, source, days, dataset=dataset)  # the envs below find it in prepare's cache
    windows = fold_windows(prepared.splits.validation, folds)
    env_config = {"params": params.model_dump(mode="json"), "source": source, "days": days, "seed": seed}
    steps = iteration_steps(params, iter_steps)
    trainer = build(algo, params, env_config, seed, steps)
    best = -float("inf")
    try:
        for it in range(1, iterations + 1):
            trainer.train()
            policy = RLPolicyStrategy.from_module(
                trainer.get_module(), prepared.norm, prepared.feature_names, params.trading.min_q_diff, f"rl-{algo}"
            )
            metrics, scores, returns = [], [], []
            for window in windows:
                result = span_result(policy, prepared, params, window)
                m = compute_metrics(result)
                metrics.append(m)
                scores.append(fold_score(m, params, no_trade))
                returns.append(bar_returns(result))
            report = {**fold_report(metrics, scores, returns, penalty), "iteration": it, "node": node_id()}
            if report["score"] > best and np.isfinite(report["score"]):
                best = report["score"]
                with tempfile.TemporaryDirectory() as tmp:
                    trainer.save_to_path(str(Path(tmp).resolve()))
                    meta = metadata(algo, params, prepared, seed, source, days, iteration=it, validation=report)
                    ck.write_json(Path(tmp) / ck.META_FILE, meta)
                    tune.report(report, checkpoint=tune.Checkpoint.from_directory(tmp))
            else:
                tune.report(report)
    finally:
        trainer.stop()
