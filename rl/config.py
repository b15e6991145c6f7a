"""The `rl:` section of configs/params.yaml: the recurrent agents, their training and the reward (docs/RL.md).

Registered under the entry-point group `aml100.config` (pyproject.toml), so `backtest.config` composes it into the
params without importing rl. Every default lives here, once; configs/params.yaml repeats them with comments
(tests/test_config_files.py checks the two agree).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from backtest.config import Section


class EpsilonConfig(Section):
    start: float = Field(default=1.0, ge=0, le=1)
    end: float = Field(default=0.05, ge=0, le=1)
    decay_steps: int = Field(default=10_000, ge=1)


class PPOSection(Section):
    epochs: int = Field(default=8, ge=1, le=100)
    clip: float = Field(default=0.2, gt=0, le=1)
    entropy: float = Field(default=0.05, ge=0, le=1)
    gae_lambda: float = Field(default=0.95, ge=0, le=1)
    grad_clip: float = Field(default=0.5, ge=0)  # 0 = no clipping


class DQNSection(Section):
    rollout_per_env: int = Field(default=32, ge=1)
    replay_capacity: int = Field(default=100_000, ge=100)
    learning_starts: int = Field(default=2000, ge=0)
    target_update: int = Field(default=500, ge=1)


class RewardConfig(Section):
    trade_bonus: float = Field(default=0.0, ge=0)
    hold_penalty: float = Field(default=0.0, ge=0)
    hold_timeout_penalty: float = Field(default=0.0, ge=0)
    hold_timeout_seconds: int = Field(default=300, ge=0)
    streak_bonus: float = Field(default=0.0, ge=0)
    flip_flop_penalty: float = Field(default=0.0, ge=0)
    flip_flop_bars: int = Field(default=3, ge=1)
    vol_scaled: bool = False
    scale: float = Field(default=100.0, gt=0)


class RLConfig(Section):
    algo: Literal["ppo", "dqn", "ensemble"] = "ppo"
    lstm_layers: int = Field(default=2, ge=1, le=8)
    lstm_hidden: int = Field(default=128, ge=1, le=4096)
    fcnet_hiddens: list[int] = Field(default_factory=lambda: [64])
    max_seq_len: int = Field(default=32, ge=2, le=1024)
    learning_rate: float = Field(default=3.0e-4, gt=0, le=1)
    batch_size: int = Field(default=32, ge=1)
    epochs: int = Field(default=180, ge=1)
    early_stop_patience: int = Field(default=30, ge=1)
    gamma: float = Field(default=0.99, gt=0, le=1)
    episode_bars: int = Field(default=2000, ge=10)
    train_fraction: float = Field(default=0.6, gt=0, lt=1)
    validation_fraction: float = Field(default=0.2, gt=0, lt=1)
    seed: int = Field(default=1, ge=0)
    num_envs: int = Field(default=8, ge=1, le=256)
    torch_threads: int = Field(default=1, ge=0, le=256)  # 0 = torch's default (one per core)
    # torch threads of the learner update only (sampling stays on torch_threads); 0 = auto: the CPUs this process
    # owns (Ray's allocation in a worker) minus those busy elsewhere at each update, at least 1 (rl/learner_threads.py)
    # default 1: on some CPUs (an Intel Xeon: measured) the update's result depends on the thread count, so auto would
    # make a run's weights depend on the machine's load; 2 or 0 trade that for speed (docs/RL.md)
    learner_threads: int = Field(default=1, ge=0, le=256)
    fused_connectors: bool = True  # rl/connectors.py: one env->module and one module->env pass (same episodes)
    vector_env: bool = True  # the compiled vector env (rl/vector_env.py) instead of a SyncVectorEnv of TradingEnvs
    env_runners: int = Field(default=0, ge=0, le=1024)  # remote env-runner actors (0 = sample in the trainer's process)
    ppo: PPOSection = Field(default_factory=PPOSection)
    dqn: DQNSection = Field(default_factory=DQNSection)
    epsilon: EpsilonConfig = Field(default_factory=EpsilonConfig)
    reward: RewardConfig = Field(default_factory=RewardConfig)

    @model_validator(mode="after")
    def _splits(self) -> RLConfig:
        if self.train_fraction + self.validation_fraction >= 1:
            raise ValueError(
                f"train_fraction + validation_fraction must leave a test span (< 1), got "
                f"{self.train_fraction} + {self.validation_fraction}"
            )
        return self
