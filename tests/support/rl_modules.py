"""Small recurrent RLlib modules for inference tests: actions that vary with the input, seeded."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

from rl.modules import LSTMActorCriticModule

D = 19  # observation width (any: the inference tests are about the network, not the features)
CONFIG = {
    "lstm_hidden": 16,
    "lstm_layers": 2,
    "fcnet_hiddens": [16],
    "max_seq_len": 8,
    "epsilon": [(0, 1.0), (100, 0.05)],
    "dueling": True,
    "double_q": True,
    "num_atoms": 1,
}


def make(cls, seed=0, dim=D):
    """A module whose greedy action varies with the input: freshly initialised heads are nearly constant, so the
    head weights are scaled up and the biases zeroed (otherwise comparing actions would prove little)."""
    torch.manual_seed(seed)
    space = gym.spaces.Box(-np.inf, np.inf, (dim,), np.float32)
    module = cls(observation_space=space, action_space=gym.spaces.Discrete(3), model_config=CONFIG)
    head = module.pi if cls is LSTMActorCriticModule else module.af
    with torch.no_grad():
        head.weight.mul_(40.0)
        head.bias.zero_()
    return module
