"""Fused env->module and module->env connectors for our exact sampling case (`rl.fused_connectors`).

RLlib's default pipelines are generic: per env step they run six to eight connector pieces, each walking every
episode and mapping `tree.map_structure` over every item (multi-agent, any space, any module). Our case is one
shape: a single agent, a Box observation, a stateful module from rl/modules.py whose state is {"h", "c"} [B, L, H],
Discrete actions. Each fused connector does in one pass what the default pieces do together, with the same values
and the same calls into torch's random stream, so the sampled episodes (observations, actions, rewards and the
extra_model_outputs STATE_OUT, ACTION_DIST_INPUTS, ACTION_LOGP) and therefore the trained weights are bit-identical
to the defaults (tests/rl/test_connectors.py compares sampled episodes; the throughput bench compares weights).

    env -> module (replaces AddObservationsFromEpisodesToBatch, AddTimeDimToBatchAndZeroPad,
                   AddStatesFromEpisodesToBatch, BatchIndividualItems, NumpyToTensor):
        OBS [B, 1, D] from each episode's last observation; STATE_IN {h, c} [B, L, H] from each episode's last
        STATE_OUT, the module's initial state for a fresh episode.
    module -> env (replaces GetActions, TensorToNumpy, UnBatchToIndividualItems, RemoveSingleTsTimeRankFromBatch,
                   NormalizeAndClipActions, ListifyDataForVectorEnv):
        ACTIONS given by the module (DQN) or drawn from the action distribution over ACTION_DIST_INPUTS with its
        ACTION_LOGP (PPO, exactly as GetActions does); per-env items without the time rank.

Installed by rl/algos.py when `rl.fused_connectors` is true (our env: Box observations, Discrete(3) actions);
`rl.fused_connectors: false` restores RLlib's default pipelines.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.columns import Columns


class FusedEnvToModule(ConnectorV2):
    """Episodes -> the module's batch: OBS [B, 1, D] and STATE_IN {h, c} [B, L, H] as torch tensors."""

    def __init__(self, *args: Any, device: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._device = device
        self._initial: dict[str, np.ndarray] | None = None

    def __call__(
        self,
        *,
        rl_module: Any,
        batch: dict[str, Any],
        episodes: list[Any],
        explore: bool | None = None,
        shared_data: dict | None = None,
        **kwargs: Any,
    ) -> Any:
        obs = np.stack([ep.get_observations(-1) for ep in episodes])[:, None]
        if self._initial is None:
            self._initial = {k: np.asarray(v) for k, v in rl_module.get_initial_state().items()}
        states = [
            self._initial
            if (ep.t_started == 0 and len(ep) == 0) or Columns.STATE_OUT not in ep.extra_model_outputs
            else ep.get_extra_model_outputs(key=Columns.STATE_OUT, indices=-1)
            for ep in episodes
        ]
        state_in = {k: _tensor(np.stack([s[k] for s in states]), self._device) for k in self._initial}
        if shared_data is not None:
            shared_data["_added_single_ts_time_rank"] = True
        return {Columns.OBS: _tensor(obs, self._device), Columns.STATE_IN: state_in}


class FusedModuleToEnv(ConnectorV2):
    """The module's output -> actions for the vector env and per-env extra model outputs (no time rank)."""

    def __call__(
        self,
        *,
        rl_module: Any,
        batch: dict[str, Any],
        episodes: list[Any],
        explore: bool | None = None,
        shared_data: dict | None = None,
        **kwargs: Any,
    ) -> Any:
        if Columns.ACTIONS not in batch and Columns.ACTION_DIST_INPUTS in batch:  # as RLlib's GetActions
            dist_cls = (
                rl_module.get_exploration_action_dist_cls() if explore else rl_module.get_inference_action_dist_cls()
            )
            dist = dist_cls.from_logits(batch[Columns.ACTION_DIST_INPUTS])
            if not explore:
                dist = dist.to_deterministic()
            batch[Columns.ACTIONS] = dist.sample()
            if Columns.ACTION_LOGP not in batch:
                batch[Columns.ACTION_LOGP] = dist.logp(batch[Columns.ACTIONS])
        n = len(episodes)
        out: dict[str, Any] = {}
        for column, value in batch.items():
            if column == Columns.STATE_OUT:
                state = {k: _numpy(v) for k, v in value.items()}
                out[column] = [{k: v[i] for k, v in state.items()} for i in range(n)]
            elif column == Columns.ACTIONS:
                out[column] = _numpy(value)[:, 0]  # [B, 1] -> [B]: what ListifyDataForVectorEnv batches
            else:
                arr = _numpy(value)[:, 0]  # drop the single-timestep rank
                out[column] = [arr[i, ...] for i in range(n)]
        return out


def _tensor(arr: np.ndarray, device: Any) -> torch.Tensor:
    t = torch.from_numpy(arr)
    return t if device is None else t.to(device)


def _numpy(t: Any) -> np.ndarray:
    """As RLlib's TensorToNumpy (`convert_to_numpy`, reduce_type): floats as float32, integers as int32."""
    arr = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    if np.issubdtype(arr.dtype, np.floating):
        return arr.astype(np.float32)
    if np.issubdtype(arr.dtype, int):
        return arr.astype(np.int32)
    return arr


def env_to_module(env: Any = None, spaces: Any = None, device: Any = None) -> ConnectorV2:
    """For `config.env_runners(env_to_module_connector=...)`."""
    return FusedEnvToModule(device=device)


def module_to_env(env: Any = None, spaces: Any = None) -> ConnectorV2:
    """For `config.env_runners(module_to_env_connector=...)`."""
    return FusedModuleToEnv()


def connector_settings(fused: bool) -> dict[str, Any]:
    """The `AlgorithmConfig.env_runners(...)` arguments: the fused pair instead of the defaults, or nothing."""
    if not fused:
        return {}
    return {
        "env_to_module_connector": env_to_module,
        "module_to_env_connector": module_to_env,
        "add_default_connectors_to_env_to_module_pipeline": False,
        "add_default_connectors_to_module_to_env_pipeline": False,
    }
