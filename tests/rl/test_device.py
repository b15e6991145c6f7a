"""The learner trains on CUDA when there is one: asked of RLlib always; run for real only where a GPU exists."""

from __future__ import annotations

import pytest
import torch

from backtest.config import load_params
from rl import device
from rl.algos import dqn_config, ppo_config

from .conftest import TINY

NO_CUDA = "no CUDA device here (torch.cuda.is_available() is False): the learner-on-GPU training needs one"


@pytest.mark.parametrize("builder", [ppo_config, dqn_config])
def test_on_a_cuda_machine_each_learner_asks_rllib_for_one_gpu(builder, monkeypatch, env_config):
    params = load_params(overrides=TINY)
    monkeypatch.setattr(device, "detect", lambda: "cuda")
    assert builder(params, env_config, 1, 128).num_gpus_per_learner == 1
    monkeypatch.setattr(device, "detect", lambda: "cpu")
    assert builder(params, env_config, 1, 128).num_gpus_per_learner == 0


def test_mps_is_reported_but_trains_on_cpu():
    assert device.learner_gpus("mps") == 0 and "training on cpu" in device.describe("mps")


@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)
def test_training_runs_the_learner_on_the_gpu(ray_session, tmp_path):
    from rl.algos import build
    from rl.train import ensure_ray

    params = load_params(overrides=TINY)
    env_config = {"params": params.model_dump(mode="json"), "source": "synthetic", "days": 3.0, "seed": 1}
    ensure_ray()
    trainer = build("ppo", params, env_config, 1, 128)
    try:
        trainer.train()
        learner = trainer.learner_group._learner
        assert next(learner.module["default_policy"].parameters()).device.type == "cuda"
    finally:
        trainer.stop()
    assert device.describe() == "cuda"
