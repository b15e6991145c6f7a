"""Learner updates on every CPU this process owns; sampling stays on `rl.torch_threads`.

Sampling runs tiny forwards (a batch of `rl.num_envs`, one timestep): with more than one torch thread they spin and
collapse under load (docs/RL.md "Training throughput"), so the process runs on `rl.torch_threads` (1). The learner's
update (sequences of `max_seq_len` x `batch_size`, forward + backward + Adam, 8 PPO epochs) is large enough for more
threads to pay: measured 25 ms with 1 thread, 13 ms with 2 on an idle 2-core box. `ThreadedUpdate` switches torch's
intra-op threads to `rl.learner_threads` around `Learner.update` only and restores them after. The thread count does
not change the weights (the throughput bench compares 1 vs 2 threads, same seed, on every run).
"""

from __future__ import annotations

import os
from typing import Any

import torch
from ray.rllib.algorithms.dqn.torch.dqn_torch_learner import DQNTorchLearner
from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner


def owned_cpus() -> int:
    """CPUs this process may use: inside a Ray worker (trial, actor) the CPUs Ray assigned it, else the CPU affinity."""
    import ray

    if ray.is_initialized():
        from ray._private.worker import WORKER_MODE

        ctx = ray.get_runtime_context()
        if ctx.worker.mode == WORKER_MODE:  # a task or actor (a Tune trial): Ray's allocation is its budget
            cpus = ctx.get_assigned_resources().get("CPU", 0)
            if cpus >= 1:
                return int(cpus)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def learner_threads(configured: int) -> int:
    """`rl.learner_threads`: the configured count, 0 = the CPUs this process owns."""
    return configured if configured > 0 else owned_cpus()


class ThreadedUpdate:
    """Learner mixin: `update` runs on `learner_config_dict["learner_threads"]` torch threads (0 = owned CPUs)."""

    def update(self, *args: Any, **kwargs: Any) -> Any:
        wanted = learner_threads(int(self.config.learner_config_dict.get("learner_threads", 0)))
        before = torch.get_num_threads()
        if wanted == before:
            return super().update(*args, **kwargs)
        torch.set_num_threads(wanted)
        try:
            return super().update(*args, **kwargs)
        finally:
            torch.set_num_threads(before)


class ThreadedPPOTorchLearner(ThreadedUpdate, PPOTorchLearner):
    """RLlib's PPO torch learner, its updates on the learner threads."""


class ThreadedDQNTorchLearner(ThreadedUpdate, DQNTorchLearner):
    """RLlib's DQN torch learner, its updates on the learner threads."""
