"""RLlib (new API stack) configs for LSTM-PPO and LSTM-DQN from `params.rl`.

Everything comes from params.rl: lstm_layers, lstm_hidden, fcnet_hiddens, max_seq_len, learning_rate, gamma,
batch_size (sequences per minibatch: minibatch = batch_size * max_seq_len timesteps), num_envs, the ppo and dqn
sections, the epsilon schedule and the seed.

Traps handled (see shared/reference/ray-rllib.md): algorithm classes not strings; by default 0 env runners and 0
remote learners (no speed-up on 2 cores; `rl.env_runners` puts sampling on Ray actors, e.g. on a cluster's nodes);
DQN with an LSTM needs `EpisodeReplayBuffer`, n_step = 1 and burn_in_len < max_seq_len; `rollout_fragment_length`
set explicitly ("auto" made DQN iterations ~9x slower). `rollout_fragment_length` counts steps per env: an
iteration samples rollout_fragment_length x num_envs (x env runners) steps. RLlib takes an env class or a registered
name: the compiled vector env is registered (`env_settings`). Its replay buffer is seeded here (`build`).
"""

from __future__ import annotations

from typing import Any

from ray.rllib.algorithms.algorithm_config import AlgorithmConfig
from ray.rllib.algorithms.dqn import DQNConfig
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from backtest.config import Params
from rl.connectors import connector_settings
from rl.device import learner_gpus
from rl.env import TradingEnv
from rl.learner_threads import ThreadedDQNTorchLearner, ThreadedPPOTorchLearner
from rl.modules import LSTMActorCriticModule, LSTMDuelingQModule
from rl.vector_env import make_env


def model_config(params: Params) -> dict[str, Any]:
    rl = params.rl
    return {
        "lstm_hidden": rl.lstm_hidden,
        "lstm_layers": rl.lstm_layers,
        "fcnet_hiddens": list(rl.fcnet_hiddens),
        "max_seq_len": rl.max_seq_len,
    }


def iteration_steps(params: Params, requested: int | None = None) -> int:
    """Env timesteps per training iteration: `requested`, else one episode, at least one minibatch."""
    minibatch = params.rl.batch_size * params.rl.max_seq_len
    return max(int(requested or params.rl.episode_bars), minibatch if requested is None else 1)


ENV_NAME = "aml100-trading"


def env_settings(params: Params) -> tuple[Any, str]:
    """(env, gymnasium vectorisation mode): the compiled vector env through RLlib's vector entry point
    (`rl.vector_env`; registered under ENV_NAME, as RLlib takes a class or a registered name), or gymnasium's
    SyncVectorEnv of `TradingEnv`s. Both give the same episodes, bit for bit."""
    if not params.rl.vector_env:
        return TradingEnv, "sync"
    from ray.tune.registry import register_env

    register_env(ENV_NAME, make_env)
    return ENV_NAME, "vector_entry_point"


def ppo_config(params: Params, env_config: dict[str, Any], seed: int, iter_steps: int) -> AlgorithmConfig:
    rl = params.rl
    minibatch = min(rl.batch_size * rl.max_seq_len, iter_steps)
    env, vectorize = env_settings(params)
    return (
        PPOConfig()
        .environment(env, env_config=env_config)
        .framework("torch")
        .env_runners(
            num_env_runners=rl.env_runners,
            num_envs_per_env_runner=rl.num_envs,
            rollout_fragment_length=max(1, iter_steps // (rl.num_envs * max(1, rl.env_runners))),
            gym_env_vectorize_mode=vectorize,
            **connector_settings(rl.fused_connectors),
        )
        .learners(
            num_learners=0,
            num_gpus_per_learner=learner_gpus(),
            learner_class=ThreadedPPOTorchLearner,
            learner_config_dict={"learner_threads": rl.learner_threads},
        )
        .training(
            lr=rl.learning_rate,
            gamma=rl.gamma,
            train_batch_size_per_learner=iter_steps,
            minibatch_size=minibatch,
            num_epochs=rl.ppo.epochs,
            clip_param=rl.ppo.clip,
            entropy_coeff=rl.ppo.entropy,
            lambda_=rl.ppo.gae_lambda,
            grad_clip=rl.ppo.grad_clip or None,
        )
        .rl_module(rl_module_spec=RLModuleSpec(module_class=LSTMActorCriticModule), model_config=model_config(params))
        .debugging(seed=seed)
    )


def dqn_config(params: Params, env_config: dict[str, Any], seed: int, iter_steps: int) -> AlgorithmConfig:
    rl = params.rl
    eps = rl.epsilon
    env, vectorize = env_settings(params)
    return (
        DQNConfig()
        .environment(env, env_config=env_config)
        .framework("torch")
        .env_runners(
            num_env_runners=rl.env_runners,
            num_envs_per_env_runner=rl.num_envs,
            rollout_fragment_length=max(1, min(rl.dqn.rollout_per_env, iter_steps // rl.num_envs)),
            gym_env_vectorize_mode=vectorize,
            **connector_settings(rl.fused_connectors),
        )
        .learners(
            num_learners=0,
            num_gpus_per_learner=learner_gpus(),
            learner_class=ThreadedDQNTorchLearner,
            learner_config_dict={"learner_threads": rl.learner_threads},
        )
        .training(
            lr=rl.learning_rate,
            gamma=rl.gamma,
            train_batch_size_per_learner=rl.batch_size * rl.max_seq_len,
            n_step=1,
            burn_in_len=max(0, rl.max_seq_len // 4),
            double_q=True,
            dueling=True,
            num_atoms=1,
            epsilon=[(0, eps.start), (eps.decay_steps, eps.end)],
            replay_buffer_config={"type": "EpisodeReplayBuffer", "capacity": rl.dqn.replay_capacity},
            num_steps_sampled_before_learning_starts=min(rl.dqn.learning_starts, iter_steps),
            target_network_update_freq=rl.dqn.target_update,
        )
        .rl_module(rl_module_spec=RLModuleSpec(module_class=LSTMDuelingQModule), model_config=model_config(params))
        .reporting(min_sample_timesteps_per_iteration=iter_steps, min_time_s_per_iteration=0)
        .debugging(seed=seed)
    )


BUILDERS = {"ppo": ppo_config, "dqn": dqn_config}


def seed_replay_buffer(trainer: Any, seed: int) -> None:
    """Seed DQN's replay sampling. RLlib 2.60's `EpisodeReplayBuffer` draws from `np.random.default_rng(None)`
    (fresh OS entropy), so without this no two DQN runs with the same seed learn the same policy."""
    import numpy as np

    buffer = getattr(trainer, "local_replay_buffer", None)
    if buffer is not None and hasattr(buffer, "rng"):
        buffer.rng = np.random.default_rng(seed)


def build(algo: str, params: Params, env_config: dict[str, Any], seed: int, iter_steps: int) -> Any:
    """The RLlib Algorithm for `algo`, seeded everywhere it draws (its replay buffer too)."""
    trainer = BUILDERS[algo](params, env_config, seed, iter_steps).build_algo()
    seed_replay_buffer(trainer, seed)
    return trainer
