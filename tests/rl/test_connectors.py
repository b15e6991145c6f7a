"""The fused connectors (rl/connectors.py) sample exactly what RLlib's default pipelines sample, for PPO and DQN."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns

from backtest.config import load_params
from rl.algos import build
from rl.connectors import FusedEnvToModule, FusedModuleToEnv
from rl.train import seed_everything
from tests.support.rl import TINY

SEED = 5


def _sampled(algo: str, env_config: dict, fused: bool) -> tuple[list, object]:
    params = load_params(overrides=[*TINY, f"rl.fused_connectors={str(fused).lower()}"])
    seed_everything(SEED)
    trainer = build(algo, params, {**env_config, "params": params.model_dump(mode="json")}, SEED, 200)
    try:
        pipes = (trainer.env_runner._env_to_module.connectors, trainer.env_runner._module_to_env.connectors)
        torch.manual_seed(SEED)
        episodes = []
        for _ in range(3):  # 3 x 600 steps over 8 envs of 200-bar episodes: resets, ends and cut continuations
            episodes += [ep.to_numpy() if not ep.is_numpy else ep for ep in trainer.env_runner.sample(
                num_timesteps=600, explore=True)]  # fmt: skip
        return episodes, pipes
    finally:
        trainer.stop()


def _assert_same(a, b, where: str) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}.{k}")
        return
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, where
    np.testing.assert_array_equal(a, b, err_msg=where)


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_fused_connectors_sample_the_same_episodes_as_rllib_defaults(ray_session, env_config, algo):
    default, default_pipes = _sampled(algo, env_config, fused=False)
    fused, fused_pipes = _sampled(algo, env_config, fused=True)
    assert [type(c) for c in fused_pipes[0]] == [FusedEnvToModule]
    assert [type(c) for c in fused_pipes[1]] == [FusedModuleToEnv]
    assert len(default_pipes[0]) > 1 and len(default_pipes[1]) > 1  # the defaults really ran
    assert len(default) == len(fused) > 8
    assert sum(ep.is_done for ep in fused) >= 8  # episodes ended and were reset within the samples
    for i, (d, f) in enumerate(zip(default, fused)):
        where = f"{algo} episode {i}"
        assert (d.t_started, len(d), d.is_terminated, d.is_truncated) == (f.t_started, len(f), f.is_terminated,
                                                                         f.is_truncated), where  # fmt: skip
        _assert_same(d.get_observations(), f.get_observations(), where + " obs")
        _assert_same(d.get_actions(), f.get_actions(), where + " actions")
        _assert_same(d.get_rewards(), f.get_rewards(), where + " rewards")
        assert set(d.extra_model_outputs) == set(f.extra_model_outputs), where
        for key in d.extra_model_outputs:
            _assert_same(d.get_extra_model_outputs(key), f.get_extra_model_outputs(key), f"{where} {key}")
    if algo == "ppo":
        assert {Columns.ACTION_LOGP, Columns.ACTION_DIST_INPUTS, Columns.STATE_OUT} <= set(fused[0].extra_model_outputs)
