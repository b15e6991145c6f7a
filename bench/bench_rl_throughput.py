"""Training throughput: env steps per second sampled and trained, before and after, per algorithm, same seed.

    python -m bench.bench_rl_throughput [--iterations 3] [--algos ppo dqn] [--days 30]

"Before" is the set-up training ran with until this bench existed: gymnasium's SyncVectorEnv of `TradingEnv`s
(`rl.vector_env=false`) and torch's default threads (one per core). "After" is configs/params.yaml as it is
(`rl.vector_env=true`: every env stepped by one compiled call; sampling on `rl.torch_threads`, the learner update on
`rl.learner_threads`, 0 = every CPU the process owns; `rl.fused_connectors`: one env->module and one module->env
connector pass instead of RLlib's generic pipelines). Both algorithms are built with
the same seed and trained iteration by iteration, alternately (each keeps its own random streams), so both see the
same machine load; ratios of such pairs are the portable figures. Both must end with identical weights: the change
is speed only, not trajectories (printed as `identical weights`).

Measured: trained = env steps / wall time of `Algorithm.train()` (sampling + learning); sampled = env steps /
wall time of the env runner's `sample()` alone; and, for "after", where an iteration's time goes (RLlib's own
timers: env steps, module forward, connectors, learner update).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import numpy as np
import torch

DEFAULT_THREADS = torch.get_num_threads()  # torch's own default here, before anything changes it


@dataclass
class Arm:
    """One configuration under test: its algorithm, thread count and private random streams."""

    name: str
    trainer: Any
    threads: int
    rng: tuple = ()
    trained_s: list[float] = field(default_factory=list)
    sampled_s: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    last: dict = field(default_factory=dict)

    def enter(self) -> None:
        torch.set_num_threads(self.threads)
        if self.rng:
            torch.set_rng_state(self.rng[0])
            np.random.set_state(self.rng[1])
            random.setstate(self.rng[2])

    def leave(self) -> None:
        self.rng = (torch.get_rng_state(), np.random.get_state(), random.getstate())


# "before" arms (--before): the set-up (SyncVectorEnv, torch's default threads everywhere, the learner too,
# RLlib's default connectors), or main before the learner threads and fused connectors (compiled vector env, one
# thread everywhere, RLlib's default connectors): that isolates those two changes
BEFORE = {
    "issue": (["rl.vector_env=false", "rl.torch_threads=0", f"rl.learner_threads={DEFAULT_THREADS}",
               "rl.fused_connectors=false"], DEFAULT_THREADS),
    "one-thread": (["rl.torch_threads=1", "rl.learner_threads=1", "rl.fused_connectors=false"], 1),
}  # fmt: skip


def _build(algo: str, sets: list[str], seed: int, days: float) -> Any:
    from backtest.config import load_objectives, load_params
    from rl.algos import build, iteration_steps
    from rl.train import seed_everything

    params = load_params(overrides=sets)
    seed_everything(seed)
    env_config = {"params": params.model_dump(mode="json"), "objectives": load_objectives().model_dump(mode="json"),
                  "source": "synthetic", "days": days, "seed": seed}  # fmt: skip
    return build(algo, params, env_config, seed, iteration_steps(params)), params


def _steps(result: dict) -> int:
    from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED

    return int(result.get(ENV_RUNNER_RESULTS, {}).get(NUM_ENV_STEPS_SAMPLED, 0))


def breakdown(result: dict, steps: int, num_envs: int, wall: float) -> dict[str, float]:
    """Seconds per iteration by part, from RLlib's timers (smoothed means per call x calls per iteration; the learner
    parts x training steps per iteration: DQN updates once per `rollout_per_env` x num_envs sampled steps), and the
    rest of the iteration's wall time (RLlib's bookkeeping, DQN's replay buffer)."""
    env = result.get("env_runners", {})
    timers = result.get("timers", {})
    calls = steps / max(1, num_envs)
    updates = max(1, int(result.get("num_training_step_calls_per_iteration", 1)))
    part = {
        "env step": env.get("env_step_timer", 0.0) * calls,
        "module forward": env.get("rlmodule_inference_timer", 0.0) * calls,
        "connectors (env->module, module->env)": (
            env.get("env_to_module_connector", {}).get("connector_pipeline_timer", 0.0)
            + env.get("module_to_env_connector", {}).get("connector_pipeline_timer", 0.0)
        ) * calls,
        "learner connector (GAE, padding)": result.get("learners", {}).get("__all_modules__", {}).get(
            "learner_connector", {}).get("connector_pipeline_timer", 0.0) * updates,
        "learner update (all epochs)": timers.get("learner_update_timer", 0.0) * updates,
    }  # fmt: skip
    part["learner update (all epochs)"] -= part["learner connector (GAE, padding)"]  # the update timer includes it
    part["rest (RLlib bookkeeping, replay buffer)"] = max(0.0, wall - sum(part.values()))
    return {k: float(v) for k, v in part.items()}


def measure(algo: str, iterations: int, days: float, seed: int = 1, before_arm: str = "issue") -> dict[str, Any]:
    """Before / after arms of one algorithm, trained alternately; figures and whether the weights agree."""
    from rl.learner_threads import UPDATES_BY_THREADS
    from rl.train import ensure_ray, set_torch_threads

    ensure_ray()
    sets, threads = BEFORE[before_arm]
    before_t, _ = _build(algo, sets, seed, days)
    before = Arm("before", before_t, threads)
    before.leave()
    after_t, p_after = _build(algo, [], seed, days)
    after = Arm("after", after_t, p_after.rl.torch_threads or DEFAULT_THREADS)
    learner = p_after.rl.learner_threads or "auto"
    after.leave()
    arms = (before, after)
    after_updates: Counter[int] = Counter()  # the after arm's learner updates by thread count (auto picks per update)
    try:
        for it in range(iterations + 1):  # the first iteration of each warms up (compiles, fills buffers)
            for arm in arms:
                arm.enter()
                seen = Counter(UPDATES_BY_THREADS)
                t = time.perf_counter()
                result = arm.trainer.train()
                dt = time.perf_counter() - t
                arm.leave()
                if arm is after:
                    after_updates.update(UPDATES_BY_THREADS - seen)
                if it > 0:
                    arm.trained_s.append(dt)
                    arm.steps.append(_steps(result))
                    arm.last = result
        same = _same_weights(before.trainer, after.trainer)
        n = arm.steps[-1] if arm.steps else 2000
        for _ in range(iterations):  # sampling alone (after the learning comparison: it moves the episodes on)
            for arm in arms:
                arm.enter()
                t = time.perf_counter()
                arm.trainer.env_runner.sample(num_timesteps=n, explore=True)
                arm.sampled_s.append(time.perf_counter() - t)
                arm.leave()
    finally:
        for arm in arms:
            arm.trainer.stop()
        set_torch_threads(p_after.rl.torch_threads)
    out: dict[str, Any] = {"algo": algo, "identical": same, "load": os.getloadavg()[0],
                           "learner_updates_by_threads": dict(after_updates)}  # fmt: skip
    for arm in arms:
        out[arm.name] = {
            "threads": f"{arm.threads}" if arm is before else f"{arm.threads} / {learner}",
            "trained": [s / t for s, t in zip(arm.steps, arm.trained_s)],
            "sampled": [n / t for t in arm.sampled_s],
        }
    out["after"]["breakdown"] = breakdown(after.last, after.steps[-1], p_after.rl.num_envs, after.trained_s[-1])
    out["ratio_trained"] = [a / b for a, b in zip(out["after"]["trained"], out["before"]["trained"])]
    out["ratio_sampled"] = [a / b for a, b in zip(out["after"]["sampled"], out["before"]["sampled"])]
    return out


def _same_weights(a: Any, b: Any) -> bool:
    wa, wb = a.get_module().state_dict(), b.get_module().state_dict()
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_rl_throughput", description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--algos", nargs="+", default=["ppo", "dqn"], choices=["ppo", "dqn"])
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--before", choices=sorted(BEFORE), default="issue",
                    help="issue: SyncVectorEnv, torch's default threads, RLlib's connectors (default); one-thread: the "
                         "compiled vector env on one thread with RLlib's connectors (isolates learner threads and "
                         "fused connectors)")  # fmt: skip
    ap.add_argument("--json", type=Path, help="write the measurements here too")
    args = ap.parse_args(argv)
    load0 = os.getloadavg()[0]
    print("| algo | config | torch threads (sampling / learner) | env steps/s trained | env steps/s sampled | "
          "after / before trained | after / before sampled | identical weights |\n" + "|---" * 8 + "|")  # fmt: skip
    parts, everything = {}, {}
    for algo in args.algos:
        m = everything[algo] = measure(algo, args.iterations, args.days, before_arm=args.before)
        med = statistics.median
        for name in ("before", "after"):
            arm = m[name]
            ratio = "" if name == "before" else f"{med(m['ratio_trained']):.2f}x"
            sratio = "" if name == "before" else f"{med(m['ratio_sampled']):.2f}x"
            same = "" if name == "before" else str(m["identical"])
            print(f"| {algo} | {name} | {arm['threads']} | {med(arm['trained']):,.0f} | {med(arm['sampled']):,.0f} | "
                  f"{ratio} | {sratio} | {same} |")  # fmt: skip
        parts[algo] = m["after"]["breakdown"]
    print(f"\nbefore arm: {args.before}; load average {load0:.2f} -> {os.getloadavg()[0]:.2f}")
    print("\nwhere an iteration's time goes (after):")
    for algo, b in parts.items():
        total = sum(b.values())
        print(f"  {algo}: " + ", ".join(f"{k} {v:.2f} s ({v / total:.0%})" for k, v in b.items() if v > 0))
    by_threads = "; ".join(f"{a} {sorted(m['learner_updates_by_threads'].items())}" for a, m in everything.items())
    print(f"the after arm's learner updates by torch threads (rl.learner_threads auto picks per update): {by_threads}")
    if args.json:
        args.json.write_text(json.dumps({"load": [load0, os.getloadavg()[0]], "algos": everything}, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
