"""The modules' sampling forwards skip RLlib's train()/eval() switch and give bit-identical outputs to RLlib's own."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.torch import TorchRLModule
from torch import nn

from rl.modules import LSTMActorCriticModule, LSTMDuelingQModule

CONFIG = {"lstm_hidden": 16, "lstm_layers": 2, "fcnet_hiddens": [8], "max_seq_len": 4, "epsilon": [(0, 1), (100, 0.1)]}
OBS = gym.spaces.Box(-5, 5, (6,), np.float32)


def _module(cls):
    torch.manual_seed(0)
    return cls(observation_space=OBS, action_space=gym.spaces.Discrete(3), model_config=dict(CONFIG))


def _rollout(module, forward, steps: int = 5) -> list:
    torch.manual_seed(1)
    state = {k: torch.from_numpy(np.repeat(v[None], 8, 0)) for k, v in module.get_initial_state().items()}
    outs = []
    for i in range(steps):
        obs = torch.randn(8, 1, 6)
        out = forward(module, {Columns.OBS: obs, Columns.STATE_IN: state}, t=10 * i)
        state = out[Columns.STATE_OUT]
        outs.append(out)
    return outs


@pytest.mark.parametrize("cls", [LSTMActorCriticModule, LSTMDuelingQModule])
@pytest.mark.parametrize("mode", ["forward_exploration", "forward_inference"])
def test_sampling_forwards_match_rllibs_own_bit_for_bit(cls, mode):
    ours = _rollout(_module(cls), lambda m, b, t: getattr(m, mode)(b, t=t))
    rllib = _rollout(_module(cls), lambda m, b, t: getattr(TorchRLModule, mode)(m, b, t=t))  # eval() / train()
    for a, b in zip(ours, rllib):
        assert a.keys() == b.keys()
        for key in a:
            if key == Columns.STATE_OUT:
                assert all(torch.equal(a[key][k], b[key][k]) for k in a[key])
            else:
                assert torch.equal(a[key], b[key]), key
                assert not a[key].requires_grad


def test_a_mode_dependent_layer_is_refused(monkeypatch):
    monkeypatch.setattr("rl.modules.build_encoder", lambda d, h: nn.Sequential(nn.Linear(d, 8), nn.Dropout(0.1)))
    with pytest.raises(TypeError, match="train/eval mode"):
        _module(LSTMActorCriticModule)
