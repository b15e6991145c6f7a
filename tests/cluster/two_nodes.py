"""Driver for tests/cluster/test_two_nodes.py: a two-node Ray cluster on this machine, then every workload on it.

    python -m tests.cluster.two_nodes OUT.json WORKDIR

Runs in its own process (a `ray.cluster_utils.Cluster` cannot share a process with the test session's Ray) and
writes what it saw to OUT.json after each step, so the tests can assert on it (and a failure shows how far it got):

1. `backtest_rules`: a chunked rules backtest on 2 workers (one per node) vs in-process: trades and equity;
2. `backtest_policy`: the same for a trained-policy checkpoint (random weights) whose folder the workers may not read;
2b. `env_runners`: PPO training with `rl.env_runners=2`: an env runner on each node samples, the driver learns;
3. `sweep`: `python -m rl.tune` of that checkpoint with `cluster.storage` set: trials on both nodes, outputs,
   winner and registry entry on the storage;
4. `live`: `python -m live.serve --strategy <checkpoint>` on the cluster: the trader lands on the node offering
   `aml100_live`, holds it, trades, and stops;
5. `node_loss`: a sweep of slow trials; the second node is removed while a trial runs there: the trial is run
   again on the head and the sweep finishes.

Each node has one CPU and a resource naming it (`node_head`, `node_b`); the head also offers `aml100_live`. Every
worker process runs `tests.cluster.guard.forbid_reads`: opening anything under the checkpoint's folder fails.
"""

from __future__ import annotations

import json
import os
import pickle
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import yaml

OUT: dict[str, Any] = {}
NODE_LOSS: dict[str, Any] = {}  # what the node-removing Tune callback needs (looked up in __main__, not pickled)


def save(path: Path) -> None:
    path.write_text(json.dumps(OUT, indent=1, default=str))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_checkpoint(folder: Path, params: Any) -> Path:
    """An AML-100 PPO checkpoint with random weights (the layout `rl.inference.load_net` and `rl.checkpoint` read)."""
    from backtest.data.load import load_dataset
    from backtest.features import FEATURE_NAMES, compute_features, fit_norm
    from backtest.sim import POSITION_STATE_DIM
    from rl import checkpoint as ck

    rng = np.random.default_rng(3)
    obs, enc, hid = len(FEATURE_NAMES) + POSITION_STATE_DIM, 16, 16
    state = {
        "encoder.0.weight": rng.normal(0, 0.5, (enc, obs)),
        "encoder.0.bias": rng.normal(0, 0.1, enc),
        "lstm.weight_ih_l0": rng.normal(0, 0.3, (4 * hid, enc)),
        "lstm.weight_hh_l0": rng.normal(0, 0.3, (4 * hid, hid)),
        "lstm.bias_ih_l0": np.zeros(4 * hid),
        "lstm.bias_hh_l0": np.zeros(4 * hid),
        "pi.weight": rng.normal(0, 1.0, (3, hid)),
        "pi.bias": np.array([0.6, 0.0, 0.0]),  # leans to HOLD, still trades
    }
    folder.mkdir(parents=True)
    with open(folder / "module_state.pkl", "wb") as fh:
        pickle.dump({k: np.asarray(v, np.float32) for k, v in state.items()}, fh)
    features = compute_features(load_dataset(params).bars, params.trading, params.market.coin)
    meta = {
        "algo": "ppo",
        "seed": 0,
        "config": params.model_dump(mode="json"),
        "feature_names": list(FEATURE_NAMES),
        "norm": fit_norm(features[: len(features) // 2]).to_dict(),
        "data": {"source": "synthetic", "days": params.backtest.days},
    }
    ck.write_json(folder / ck.META_FILE, meta)
    return folder


def pool_nodes() -> list[str]:
    import ray

    from backtest.runner import _POOL

    def where(_self: Any) -> str:
        return ray.get_runtime_context().get_node_id()

    return [ray.get(a.__ray_call__.remote(where)) for a in _POOL["actors"]]


def backtest_both_ways(spec: str, params: Any, objectives: Any) -> dict[str, Any]:
    """In-process vs 2 Ray workers (keeping the pool to see where its actors ran)."""
    from backtest.data.load import load_dataset
    from backtest.features import compute_features
    from backtest.runner import run_backtest, shutdown_pool
    from backtest.sim import Market

    ds = load_dataset(params)
    features = compute_features(ds.bars, params.trading, params.market.coin)
    market = Market.from_bars(ds.bars, params)
    local = run_backtest(spec, params, objectives, market, features, ds.provenance, workers=0)
    remote = run_backtest(spec, params, objectives, market, features, ds.provenance, workers=2, keep_workers=True)
    nodes = pool_nodes()
    shutdown_pool()
    return {
        "worker_nodes": nodes,
        "trades": [len(local.trades), len(remote.trades)],
        "identical_trades": bool(local.trades.equals(remote.trades)),
        "identical_equity": bool(np.array_equal(local.equity, remote.equity)),
    }


def env_runners_on_both_nodes(common: list[str]) -> dict[str, Any]:
    """PPO with `rl.env_runners=2`: one env runner per node (one CPU each) samples; the learner trains in the driver."""
    import ray
    from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED

    from backtest.config import load_params
    from rl.algos import build

    tiny = ["rl.lstm_hidden=16", "rl.fcnet_hiddens=[16]", "rl.episode_bars=200", "rl.batch_size=4",
            "rl.max_seq_len=8", "rl.num_envs=2", "rl.env_runners=2"]  # fmt: skip
    params = load_params(overrides=[*common, *tiny])
    env_config = {"params": params.model_dump(mode="json"), "source": "synthetic", "days": 4.0, "seed": 1}
    trainer = build("ppo", params, env_config, 1, 128)
    try:
        result = trainer.train()
        nodes = trainer.env_runner_group.foreach_env_runner(
            lambda _runner: ray.get_runtime_context().get_node_id(), local_env_runner=False
        )
        sampled = int(result[ENV_RUNNER_RESULTS][NUM_ENV_STEPS_SAMPLED])
    finally:
        trainer.stop()
    return {"runner_nodes": nodes, "sampled": sampled}


SPACE = {
    "score": {"folds": 2, "spread_penalty": 0.5, "no_trade_score": -10.0},
    "asha": {"grace_period": 2, "reduction_factor": 2},
    "learning": {"algo": "ppo", "iterations": 1, "iter_steps": 64},
    "params": {
        "trading.take_profit_pct": {"type": "loguniform", "low": 0.1, "high": 1.0, "level": "execution"},
        "trading.stop_loss_pct": {"type": "uniform", "low": 0.05, "high": 0.5, "level": "execution"},
    },
}


def main(out_path: Path, work: Path) -> int:
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    os.environ["RAY_AUTH_MODE"] = "disabled"
    import ray
    from ray.cluster_utils import Cluster

    from backtest.config import load_objectives, load_params

    t0 = time.perf_counter()
    common = ["backtest.days=4", "backtest.chunk_size=600", "backtest.warmup_bars=60", "backtest.segments_per_task=2"]
    params = load_params(overrides=common)
    objectives = load_objectives(overrides=["auto_stop_drawdown=100"])  # every segment computed
    ckpt = make_checkpoint(work / "driver-only" / "ppo-ckpt", params)
    storage = work / "storage"
    node_args = {"num_cpus": 1, "object_store_memory": 96 * 1024 * 1024}
    head = {"resources": {"node_head": 1, "aml100_live": 1}, "include_dashboard": False}
    cluster = Cluster(
        initialize_head=True, head_node_args={**node_args, **head, "dashboard_agent_listen_port": free_port()}
    )
    node_b = cluster.add_node(**node_args, resources={"node_b": 1}, dashboard_agent_listen_port=free_port())
    cluster.wait_for_nodes()
    ray.init(
        address=cluster.address,
        namespace="aml100",
        log_to_driver=False,
        runtime_env={
            "worker_process_setup_hook": "tests.cluster.guard.forbid_reads",
            "env_vars": {"AML100_FORBID_READ": str(ckpt.parent)},
        },
    )
    head_id = ray.get_runtime_context().get_node_id()
    OUT["nodes"] = {"head": head_id, "b": node_b.node_id}
    OUT["start_s"] = time.perf_counter() - t0
    save(out_path)
    try:
        step(out_path, "backtest_rules", lambda: backtest_both_ways("rules", params, objectives))
        step(out_path, "backtest_policy", lambda: backtest_both_ways(str(ckpt), params, objectives))
        step(out_path, "env_runners", lambda: env_runners_on_both_nodes(common))
        step(out_path, "sweep", lambda: sweep(work, storage, ckpt, common))
        step(out_path, "live", lambda: live(work, ckpt, head_id))
        step(out_path, "node_loss", lambda: node_loss(work, storage, common, cluster, node_b))
    finally:
        ray.shutdown()
        cluster.shutdown()
    OUT["total_s"] = time.perf_counter() - t0
    save(out_path)
    return 0


def step(out_path: Path, name: str, fn: Any) -> None:
    t = time.perf_counter()
    try:
        OUT[name] = fn()
    except Exception:
        OUT[name] = {"error": traceback.format_exc()}
    OUT[name]["seconds"] = round(time.perf_counter() - t, 2)
    save(out_path)


def _tune(work: Path, name: str, strategy: str, trials: int, sets: list[str], log: list[str]) -> dict[str, Any]:
    import contextlib
    import io

    from rl import tune as tune_cli

    space = work / "space.yaml"
    space.write_text(yaml.safe_dump(SPACE))
    argv = ["--trials", str(trials), "--level", "execution", "--data", "synthetic", "--space", str(space),
            "--strategy", strategy, "--name", name]  # fmt: skip
    for s in sets:
        argv += ["--set", s]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = tune_cli.main(argv)
    log.extend(buf.getvalue().splitlines())
    return {"code": code, "log": log[-60:]}


def sweep(work: Path, storage: Path, ckpt: Path, common: list[str]) -> dict[str, Any]:
    sets = [*common, f"cluster.storage={storage}", "backtest.days=6"]
    res = _tune(work, "two-nodes", str(ckpt), 4, sets, [])
    out = storage / "runs" / "tune" / "two-nodes"
    import pandas as pd

    trials = pd.read_csv(out / "trials.csv")
    summary = json.loads((out / "summary.json").read_text())
    index = json.loads((storage / "registry" / "index.json").read_text())
    return {
        **res,
        "trial_nodes": sorted(set(trials["node"].dropna())),
        "trials": len(trials),
        "files": sorted(p.name for p in out.iterdir()),
        "registry_id": summary["registry_id"],
        "registry_ids": [e["id"] for e in index["entries"]],
        "registry_checkpoint": index["entries"][-1]["checkpoint"],
        "best_params": summary["best_params"],
    }


def live(work: Path, ckpt: Path, head_id: str) -> dict[str, Any]:
    import contextlib
    import io

    import ray

    from live.serve import main as serve

    sets = ["--set", f"live.journal_dir={work / 'live'}", "--set", f"live.emergency_stop_file={work / 'E'}",
            "--set", "live.history_bars=200", "--set", "backtest.warmup_bars=60",
            "--set", "paper_exchange.history_bars=300"]  # fmt: skip
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = serve(["--strategy", str(ckpt), "--speed", "600", "--address", "auto", *sets])
    started = buf.getvalue()
    actor = ray.get_actor("live-xyz_XYZ100", namespace="aml100")
    node = ray.get(actor.node.remote())
    time.sleep(4)
    st = ray.get(actor.status.remote(), timeout=60)
    held = ray.available_resources().get("aml100_live", 0.0)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        stop = serve(["stop", "--address", "auto", *sets])
    return {
        "code": code,
        "printed": started.splitlines(),
        "on_head": node == head_id,
        "bars": st["counts"]["bars"],
        "strategy": st["strategy"],
        "live_resource_free_while_running": held,
        "stop_code": stop,
    }


def node_loss(work: Path, storage: Path, common: list[str], cluster: Any, node_b: Any) -> dict[str, Any]:
    """A sweep of slow trials; node b is removed as soon as a trial there has reported its first fold."""
    import pandas as pd
    from ray.tune import Callback

    from backtest.config import load_objectives, load_params
    from rl.tuning.pipeline import SweepOptions, run_sweep
    from rl.tuning.space import load_space

    b_short = node_b.node_id[:8]
    removed: dict[str, Any] = {}

    class RemoveNodeB(Callback):  # Tune pickles its callbacks: the cluster is looked up, not captured
        def on_trial_result(self, iteration, trials, trial, result, **info):
            import __main__

            state = __main__.NODE_LOSS
            if not state["removed"] and result.get("node") == state["b_short"]:
                state["removed"].update(trial=trial.trial_id, iteration=result.get("training_iteration"))
                state["cluster"].remove_node(state["node_b"], allow_graceful=False)

    NODE_LOSS.update(cluster=cluster, node_b=node_b, b_short=b_short, removed=removed)

    params = load_params(overrides=[*common, f"cluster.storage={storage}", "backtest.days=3"])
    space_file = work / "space3.yaml"
    space_file.write_text(yaml.safe_dump({**SPACE, "score": {**SPACE["score"], "folds": 3}}))
    log: list[str] = []
    opts = SweepOptions(
        name="node-loss", level="execution", strategy="tests.cluster.guard:SlowRules", trials=4, source="synthetic",
        days=3, storage=storage / "runs" / "tune", registry=storage / "registry", max_concurrent=2, retries=2,
        callbacks=[RemoveNodeB()],
    )  # fmt: skip
    res = run_sweep(params, load_objectives(), load_space(space_file, params), opts, log=log.append)
    trials = pd.read_csv(Path(res.out) / "trials.csv")
    return {
        "log": log[-40:],
        "removed": removed,
        "trials": len(trials),
        "scores": trials["score"].tolist(),
        "trial_nodes": trials["node"].tolist(),
        "summary": (Path(res.out) / "summary.json").is_file(),
        "registry_id": res.entry["id"],
    }


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
