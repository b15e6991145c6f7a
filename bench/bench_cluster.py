"""The unit costs behind docs/CLUSTER.md's scaling table, measured on this machine, and the model that uses them.

    python -m bench.bench_cluster                 # measure (about 2 minutes on 2 cores), print costs and the table
    python -m bench.bench_cluster --model FILE    # the table again from saved costs (--save FILE writes them)

Measured (one process, except where Ray is named):
- 180-day backtest of a PPO policy (default network: 64-unit encoder, 2 x 128 LSTM; random weights, the same compute
  as trained ones) and of the rules: the driver's data + features, strategy load, prepare, the runner's size in the
  object store, one task (8 segments in lockstep) and the merge + metrics; a fresh Ray worker's start until warm.
- Execution trial: one trial of the default search space (4 walk-forward folds over the 180-day selection span).
- Execution sweeps on local Ray (the default space, 180 days, 2 at a time): a sweep's fixed cost, the time a trial
  holds its CPU (its folds as ASHA lets them run, plus Tune's round trips) and the driver's CPU per trial (Tune's
  controller, TPE), from the difference between an 8-trial and a 48-trial sweep; TPE's ask + tell at 500 trials.
- Learning trial: building the PPO trainer, one training iteration of the sweep's `learning.iter_steps`, and the
  4-fold validation after it (30 days of bars), plus the size of a checkpoint.

Modelled (`model`): nodes of NODE_CPUS cores, one trial or worker per core, the head's object store sending each
node one copy of the shared inputs at NET_MB_S; see docs/CLUSTER.md for what is assumed and where scaling stops.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

NODE_CPUS = 8  # the stated node size: 8 cores (and 32 GB)
NET_MB_S = 1000.0  # head -> node object transfer, MB/s (assumed: 10 Gbit/s links)
NODES = (1, 8, 64)


def _t(fn: Any, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def random_checkpoint(folder: Path, params: Any, features: Any) -> Path:
    """A PPO checkpoint with the default network's shapes and random weights (inference cost = a trained one's)."""
    import numpy as np

    from backtest.features import FEATURE_NAMES, fit_norm
    from backtest.sim import POSITION_STATE_DIM
    from rl import checkpoint as ck

    rng = np.random.default_rng(0)
    obs = len(FEATURE_NAMES) + POSITION_STATE_DIM
    state: dict[str, Any] = {}
    width = obs
    for i, h in enumerate(params.rl.fcnet_hiddens):
        state[f"encoder.{2 * i}.weight"] = rng.normal(0, 0.3, (h, width))
        state[f"encoder.{2 * i}.bias"] = np.zeros(h)
        width = h
    hid = params.rl.lstm_hidden
    for layer in range(params.rl.lstm_layers):
        state[f"lstm.weight_ih_l{layer}"] = rng.normal(0, 0.2, (4 * hid, width if layer == 0 else hid))
        state[f"lstm.weight_hh_l{layer}"] = rng.normal(0, 0.2, (4 * hid, hid))
        state[f"lstm.bias_ih_l{layer}"] = np.zeros(4 * hid)
        state[f"lstm.bias_hh_l{layer}"] = np.zeros(4 * hid)
    state["pi.weight"] = rng.normal(0, 1.0, (3, hid))
    state["pi.bias"] = np.array([0.5, 0.0, 0.0])
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "module_state.pkl", "wb") as fh:
        pickle.dump({k: np.asarray(v, np.float32) for k, v in state.items()}, fh)
    meta = {"algo": "ppo", "config": params.model_dump(mode="json"), "feature_names": list(FEATURE_NAMES),
            "norm": fit_norm(features[: len(features) // 2]).to_dict()}  # fmt: skip
    ck.write_json(folder / ck.META_FILE, meta)
    return folder


def backtest_costs(tmp: Path) -> dict[str, Any]:
    import ray

    from backtest.config import load_objectives, load_params
    from backtest.data.load import load_dataset
    from backtest.features import compute_features
    from backtest.metrics import compute_metrics
    from backtest.runner import SegmentRunner, SegmentWorker, apply_global_halt, plan
    from backtest.sim import Market, merge_runs
    from backtest.strategies.registry import resolve_strategy

    params = load_params(overrides=["backtest.days=180"])
    objectives = load_objectives(overrides=["auto_stop_drawdown=100"])  # every segment computed

    def data():
        ds = load_dataset(params)
        return ds, compute_features(ds.bars, params.trading, params.market.coin), Market.from_bars(ds.bars, params)

    t_data = _t(data, 2)
    _, features, market = data()
    ckpt = random_checkpoint(tmp / "ppo", params, features)
    out: dict[str, Any] = {"t_data": t_data, "segments": len(plan(market, params).segments)}
    tasks = plan(market, params).tasks
    out["tasks"] = len(tasks)
    for name, spec in (("rules", "rules"), ("ppo", str(ckpt))):
        t_load = _t(lambda spec=spec: resolve_strategy(spec, params))
        strategy = resolve_strategy(spec, params)
        t_prep = _t(lambda strategy=strategy: SegmentRunner(strategy, params, objectives, market, features))
        runner = SegmentRunner(strategy, params, objectives, market, features)
        size_mb = len(pickle.dumps(runner, protocol=5)) / 1e6
        runner.run(tasks[0])  # compiled code loaded
        per_task = [_t(lambda task=task, r=runner: r.run(task), 1) for task in tasks[:-1]]  # the last one is short
        runs = [r for task in tasks for r in runner.run(task)]

        def merge(runs=runs, runner=runner):
            merged = apply_global_halt(runs, 0.0, params.backtest.initial_equity, lambda s, e, p: None)
            compute_metrics(merge_runs(market, merged, params.backtest.initial_equity, strategy=runner.name))

        out[name] = {"t_load": t_load, "t_prepare": t_prep, "runner_mb": size_mb,
                     "t_task": statistics.median(per_task), "t_merge": _t(merge)}  # fmt: skip
    t = time.perf_counter()
    actor = ray.remote(num_cpus=1)(SegmentWorker).remote()
    ray.get(actor.warm.remote(resolve_strategy(str(ckpt), params)))
    out["t_worker_start"] = time.perf_counter() - t
    ray.kill(actor)
    return out


def trial_costs(tmp: Path) -> dict[str, Any]:
    import optuna
    import ray
    from optuna.samplers import TPESampler

    from backtest.config import load_objectives, load_params
    from rl.splits import splits_for
    from rl.tuning.execution_sweep import run_folds
    from rl.tuning.pipeline import SweepOptions, run_sweep
    from rl.tuning.register import load_market
    from rl.tuning.space import load_space
    from rl.tuning.walkforward import fold_windows, selection_span, slice_span

    params = load_params(overrides=["backtest.days=180"])
    objectives = load_objectives()
    space = load_space(params=params)
    bars, market, features, prov = load_market(params, "synthetic", 180)
    windows = fold_windows(selection_span(splits_for(market.n_bars, params), False), space.score.folds)
    slices = [slice_span(bars, market, features, prov, w, params.backtest.warmup_bars) for w in windows]
    list(run_folds("rules", params, objectives, slices, 0.5, -10.0))  # warm
    t_trial = _t(lambda: list(run_folds("rules", params, objectives, slices, 0.5, -10.0)))
    from rl.policy import load_spec

    ppo = load_spec(str(random_checkpoint(tmp / "ppo-trial", params, features)))  # what a trial receives
    ppo_slices = [
        slice_span(bars, market, features, prov, w, params.backtest.warmup_bars)
        for w in fold_windows(selection_span(splits_for(market.n_bars, params), True), space.score.folds)
    ]
    list(run_folds(ppo, params, objectives, ppo_slices, 0.5, -10.0))  # warm
    t_trial_ppo = _t(lambda: list(run_folds(ppo, params, objectives, ppo_slices, 0.5, -10.0)))
    slices_mb = len(pickle.dumps(slices, protocol=5)) / 1e6

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=TPESampler(seed=0), direction="maximize")
    dims = {k: v for k, v in space.dimensions("execution").items()}
    ask_tell = []
    for i in range(500):
        t = time.perf_counter()
        trial = study.ask()
        x = sum(trial.suggest_float(k, 0.1, 1.0) for k in dims)
        study.tell(trial, x)
        if i >= 450:
            ask_tell.append(time.perf_counter() - t)

    def sweep(n: int) -> tuple[float, float, float]:
        """(wall s, this process's CPU s, mean folds run) of an n-trial sweep of the default space over 180 days."""
        opts = SweepOptions(name=f"overhead-{n}", level="execution", strategy="rules", trials=n, source="synthetic",
                            days=180, storage=tmp / "tune", registry=tmp / "registry", max_concurrent=2,
                            retries=params.cluster.trial_retries)  # fmt: skip
        cpu = time.process_time()
        res = run_sweep(params, objectives, space, opts, log=lambda s: None)
        return res.seconds, time.process_time() - cpu, float(res.levels[0]["trials"]["iterations"].mean())

    sweep(2)  # Tune's first-use costs (imports, trial actors), paid once per driver
    w_a, c_a, _ = sweep(8)
    w_b, c_b, folds_mean = sweep(48)
    per_trial = (w_b - w_a) / 40
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    conc = min(2, cpus)  # SweepOptions' default max_concurrent
    return {"t_trial_4folds": t_trial, "t_trial_4folds_ppo": t_trial_ppo, "slices_mb": slices_mb,
            "t_tpe_at_500": statistics.median(ask_tell),
            "driver_cpu_per_trial": (c_b - c_a) / 40, "wall_per_trial": per_trial, "concurrency": conc,
            "slot_per_trial": per_trial * conc, "asha_mean_folds": folds_mean,
            "t_sweep_fixed": w_a - 8 * per_trial}  # fmt: skip


def learning_costs(tmp: Path) -> dict[str, Any]:
    import torch

    from backtest.config import load_params
    from rl.algos import build, iteration_steps
    from rl.data import prepare
    from rl.evaluate import span_result
    from rl.policy import RLPolicyStrategy
    from rl.tuning.space import load_space
    from rl.tuning.walkforward import fold_windows

    torch.set_num_threads(1)  # as in a learning trial
    params = load_params(overrides=["backtest.days=30"])
    lc = load_space(params=params).learning
    prepared = prepare(params, "synthetic", 30)
    env_config = {"params": params.model_dump(mode="json"), "source": "synthetic", "days": 30, "seed": 1}
    t = time.perf_counter()
    trainer = build(lc.algo, params, env_config, 1, iteration_steps(params, lc.iter_steps))
    t_build = time.perf_counter() - t
    try:
        trainer.train()
        t_iter = _t(trainer.train, 2)
        policy = RLPolicyStrategy.from_module(
            trainer.get_module(), prepared.norm, prepared.feature_names, params.trading.min_q_diff
        )
        windows = fold_windows(prepared.splits.validation, 4)
        t_val = _t(lambda: [span_result(policy, prepared, params, w) for w in windows], 2)
        t = time.perf_counter()
        trainer.save_to_path(str(tmp / "ckpt"))
        t_save = time.perf_counter() - t
        size = sum(p.stat().st_size for p in (tmp / "ckpt").rglob("*") if p.is_file()) / 1e6
    finally:
        trainer.stop()
    import subprocess

    code = "import time; t = time.perf_counter(); import torch, ray.rllib.algorithms.ppo, rl.algos; "
    code += "print(time.perf_counter() - t)"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    t_import = float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stdout)
    return {"t_build": t_build, "t_iter": t_iter, "t_validate": t_val, "t_save": t_save, "checkpoint_mb": size,
            "iter_steps": lc.iter_steps, "iterations": lc.iterations, "t_import": t_import}  # fmt: skip


# --- the model -------------------------------------------------------------------------------------------------------
def _transfer(mb: float, nodes: int) -> float:
    """The head's object store sends one copy to each other node (its uplink is the limit)."""
    return (nodes - 1) * mb / NET_MB_S


def model(c: dict[str, Any]) -> list[dict[str, Any]]:
    """Seconds for the three workloads on 1, 8 and 64 nodes of NODE_CPUS cores (docs/CLUSTER.md explains)."""
    b, t, lr = c["backtest"], c["trials"], c["learning"]
    rows = []
    for n in NODES:
        slots = n * NODE_CPUS
        p = b["ppo"]
        driver = b["t_data"] + p["t_load"] + p["t_prepare"]
        start = max(0.0, b["t_worker_start"] - driver)  # workers start while the driver loads (start_workers)
        used = min(slots, b["tasks"])
        bt = driver + start + _transfer(p["runner_mb"], min(n, used)) + math.ceil(b["tasks"] / slots) * p["t_task"]
        bt += p["t_merge"]
        # a trial holds its CPU for slot_per_trial (its folds, ASHA's stops, Tune's round trips: measured on 2 CPUs)
        serial = 500 * t["driver_cpu_per_trial"]  # the driver's own work (Tune's controller, TPE), one trial at a time
        # data, Tune's start, the winner's DSR and test, reports (measured), + one copy of the fold data per node
        ex_fixed = t["t_sweep_fixed"] + _transfer(t["slices_mb"], n)
        ex = ex_fixed + max(math.ceil(500 / slots) * t["slot_per_trial"], serial)
        # a PPO policy's trial: the same Tune overhead, its folds cost what the PPO backtests cost (same ASHA share)
        share = t["asha_mean_folds"] / 4
        slot_ppo = t["slot_per_trial"] + (t["t_trial_4folds_ppo"] - t["t_trial_4folds"]) * share
        ex_ppo = ex_fixed + max(math.ceil(500 / slots) * slot_ppo, serial)
        per_trial = lr["t_build"] + lr["iterations"] * (lr["t_iter"] + lr["t_validate"]) + lr["t_save"]
        # 30 days of data; each worker process imports torch + RLlib once (actors are reused); ASHA's stops not counted
        le = t["t_sweep_fixed"] + lr["t_import"] + math.ceil(64 / slots) * per_trial
        rows.append({"nodes": n, "cpus": slots, "backtest_s": bt, "exec_sweep_s": ex, "learn_sweep_s": le,
                     "exec_sweep_ppo_s": ex_ppo,
                     "exec_serial_floor_s": serial, "backtest_tasks_used": used})  # fmt: skip
    return rows


def table(c: dict[str, Any]) -> str:
    rows = model(c)

    def fmt(s: float) -> str:
        return f"{s:,.1f} s" if s < 120 else f"{s / 60:,.1f} min"

    heads = [f"{r['nodes']} node{'s' if r['nodes'] > 1 else ''} ({r['cpus']} CPUs)" for r in rows]
    lines = ["| workload | " + " | ".join(heads) + " |", "|---|" + "---|" * len(rows)]
    for what, key in (
        ("180-day PPO backtest (52 segments, 7 tasks)", "backtest_s"),
        ("500-trial execution sweep of the rules (4 folds, ASHA)", "exec_sweep_s"),
        ("500-trial execution sweep of a PPO policy", "exec_sweep_ppo_s"),
        ("64-trial learning sweep (PPO, 3 iterations)", "learn_sweep_s"),
    ):
        lines.append(f"| {what} | " + " | ".join(fmt(r[key]) for r in rows) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, help="print the table from costs saved with --save (no measuring)")
    ap.add_argument("--save", type=Path, help="write the measured costs (JSON) here")
    args = ap.parse_args(argv)
    if args.model:
        costs = json.loads(args.model.read_text())
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from cluster import connect

        print(connect(None), flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            costs = {"backtest": backtest_costs(Path(tmp))}
            print(json.dumps(costs["backtest"], indent=1), flush=True)
            costs["trials"] = trial_costs(Path(tmp))
            print(json.dumps(costs["trials"], indent=1), flush=True)
            costs["learning"] = learning_costs(Path(tmp))
            print(json.dumps(costs["learning"], indent=1), flush=True)
        costs["machine"] = {"cpus": os.cpu_count(), "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                            "load": os.getloadavg()}  # fmt: skip
        if args.save:
            args.save.write_text(json.dumps(costs, indent=1))
    print(f"\nmodel: nodes of {NODE_CPUS} cores, {NET_MB_S:g} MB/s from the head's object store to each node")
    print(table(costs))
    for r in model(costs):
        print(f"  {r['nodes']} nodes: execution sweep's serial floor in the driver {r['exec_serial_floor_s']:.1f} s; "
              f"backtest uses {r['backtest_tasks_used']} of {r['cpus']} CPUs")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
