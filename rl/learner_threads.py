"""Learner updates on the idle CPUs this process owns; sampling stays on `rl.torch_threads`.

Sampling runs tiny forwards (a batch of `rl.num_envs`, one timestep): with more than one torch thread they spin and
collapse under load (docs/RL.md "Training throughput"), so the process runs on `rl.torch_threads` (1). The learner's
update (sequences of `max_seq_len` x `batch_size`, forward + backward + Adam, 8 PPO epochs) is large enough for more
threads to pay on free cores: measured 25 ms with 1 thread, 13 ms with 2 on an idle 2-core box. But a second thread
on a core another process is using collapses the same way (measured: a PPO iteration's update took ~10 s instead
of ~0.7 s with another engineer's training on the box). So `rl.learner_threads: 0` (auto, opt-in) takes, at each update,
the CPUs this process owns minus those busy elsewhere right now (`busy_elsewhere`), at least 1; N > 0 fixes N.

`ThreadedUpdate` switches torch's intra-op threads around `Learner.update` only (the learner connector, GAE and all
epochs) and restores them after. The thread count can change the weights on some CPUs (PPO on an Intel Xeon: 1 and
2 threads differ; on an AMD EPYC they agreed), so the default is 1 and auto is opt-in: with auto a run's weights
would depend on the load. The throughput bench compares the weights of its arms on every run and prints the result.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import torch
from ray.rllib.algorithms.dqn.torch.dqn_torch_learner import DQNTorchLearner
from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner

UPDATES_BY_THREADS: Counter[int] = Counter()  # learner updates run in this process, by torch thread count


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


def busy_elsewhere() -> int:
    """CPUs busy with other work now: runnable tasks besides this one (/proc/loadavg's running count) or the 1-minute
    load beyond this process's own ~1, whichever is larger; 0 where /proc/loadavg is absent."""
    try:
        fields = Path("/proc/loadavg").read_text().split()
        running = int(fields[3].split("/")[0]) - 1
        load = float(fields[0])
    except (OSError, ValueError, IndexError):
        return 0
    return max(0, running, int(load - 1.25))


def learner_threads(configured: int) -> int:
    """`rl.learner_threads`: the configured count; 0 = the CPUs this process owns that are not busy elsewhere (>= 1)."""
    if configured > 0:
        return configured
    owned = owned_cpus()
    return max(1, owned - busy_elsewhere()) if owned > 1 else 1


class ThreadedUpdate:
    """Learner mixin: `update` runs on `learner_config_dict["learner_threads"]` torch threads (0 = auto)."""

    def update(self, *args: Any, **kwargs: Any) -> Any:
        wanted = learner_threads(int(self.config.learner_config_dict.get("learner_threads", 0)))
        before = torch.get_num_threads()
        UPDATES_BY_THREADS[wanted] += 1
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
