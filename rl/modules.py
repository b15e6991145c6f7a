"""The two recurrent RLModules: an LSTM actor-critic for PPO and an LSTM dueling Q-network for DQN.

RLlib's default LSTM encoder has one layer; these modules honour `rl.lstm_layers` with a stacked `nn.LSTM`. Both
share the same trunk, read top to bottom:

    obs [B, T, D] -> encoder MLP (Linear + tanh per `fcnet_hiddens`) -> nn.LSTM(num_layers=L, batch_first) -> heads

The recurrent state is a dict {"h": [B, L, H], "c": [B, L, H]} (batch first, as RLlib's connectors batch it); the
LSTM wants [L, B, H], so it is transposed on the way in and out. `rl/inference.py` reuses `encoder`, `lstm`, `pi`,
`af` and `vf` directly for the fast path, so keep these attribute names.

model_config keys: lstm_hidden, lstm_layers, fcnet_hiddens, max_seq_len (read by RLlib's connectors); DQN adds
dueling, double_q, epsilon, num_atoms (auto-included by DQNConfig; only num_atoms == 1 is supported).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from ray.rllib.algorithms.dqn.default_dqn_rl_module import QF_NEXT_PREDS, QF_PREDS, QF_TARGET_NEXT_PREDS
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.utils import make_target_network
from ray.rllib.core.rl_module.apis import InferenceOnlyAPI, QNetAPI, TargetNetworkAPI, ValueFunctionAPI
from ray.rllib.core.rl_module.torch import TorchRLModule
from ray.rllib.utils.schedules.scheduler import Scheduler
from torch import nn

TARGET_PREFIX = "_target_"
MODE_DEPENDENT = (nn.Dropout, nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm)


class _RLModuleConfigNotice(logging.Filter):
    """Drops RLlib 2.60's `RLModule(config=...)` deprecation notice.

    These modules are built the current way (`RLModuleSpec(module_class=...)` and `model_config`, keyword
    arguments observation_space / action_space / model_config); RLlib's own `RLModule.__init__` still creates a
    deprecated `RLModuleConfig` for backward compatibility, which logs that notice on every construction and load.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "RLModule(config=" not in record.getMessage()


_NOTICE = _RLModuleConfigNotice()
if _NOTICE not in logging.getLogger("ray._common.deprecation").filters:
    logging.getLogger("ray._common.deprecation").addFilter(_NOTICE)


def build_encoder(in_dim: int, hiddens: list[int]) -> nn.Sequential:
    """The per-step MLP before the LSTM (Linear + tanh per hidden size); empty -> identity."""
    layers: list[nn.Module] = []
    for size in hiddens:
        layers += [nn.Linear(in_dim, size), nn.Tanh()]
        in_dim = size
    return nn.Sequential(*layers)


class _RecurrentTrunk:
    """Mixin: encoder MLP + stacked LSTM, and the state layout conversion."""

    def _build_trunk(self) -> int:
        cfg = self.model_config
        obs_dim = int(np.prod(self.observation_space.shape))
        hiddens = list(cfg.get("fcnet_hiddens") or [])
        self.lstm_hidden = int(cfg["lstm_hidden"])
        self.lstm_layers = int(cfg["lstm_layers"])
        self.encoder = build_encoder(obs_dim, hiddens)
        self.lstm = nn.LSTM(hiddens[-1] if hiddens else obs_dim, self.lstm_hidden, self.lstm_layers, batch_first=True)
        mode_dependent = [m for m in self.modules() if isinstance(m, MODE_DEPENDENT) or getattr(m, "dropout", 0)]
        if mode_dependent:  # _NoModeSwitch skips train()/eval() while sampling: only valid without such layers
            raise TypeError(f"layers whose output depends on train/eval mode: {mode_dependent}")
        return self.lstm_hidden

    def get_initial_state(self) -> dict[str, np.ndarray]:
        shape = (self.lstm_layers, self.lstm_hidden)
        return {"h": np.zeros(shape, np.float32), "c": np.zeros(shape, np.float32)}

    @staticmethod
    def _run_trunk(
        encoder: nn.Module, lstm: nn.LSTM, obs: torch.Tensor, state: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """obs [B, T, D], state {h, c} [B, L, H] -> LSTM outputs [B, T, H], next state (same layout)."""
        h0 = state["h"].transpose(0, 1).contiguous()
        c0 = state["c"].transpose(0, 1).contiguous()
        out, (h, c) = lstm(encoder(obs), (h0, c0))
        return out, {"h": h.transpose(0, 1), "c": c.transpose(0, 1)}


class _NoModeSwitch:
    """Mixin: sampling forwards without RLlib's train()/eval() switch around every call.

    RLlib's `TorchRLModule.forward_exploration` / `forward_inference` call `self.eval()` before and `self.train()`
    after each forward: both walk every submodule (a third of a sampling step's module time for a batch of 8). These
    modules have no layer whose output depends on the mode (Linear, Tanh, an LSTM without dropout: checked in
    `_build_trunk`), so the switch changes nothing but the time; the outputs are bit-identical
    (tests/rl/test_modules.py compares them with RLlib's own forwards).
    """

    def forward_exploration(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        return self._forward_exploration(batch, **kwargs)

    def forward_inference(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        return self._forward_inference(batch, **kwargs)


class LSTMActorCriticModule(_NoModeSwitch, _RecurrentTrunk, TorchRLModule, ValueFunctionAPI):
    """PPO module: shared trunk, a policy head (logits over HOLD/BUY/SELL) and a value head."""

    def setup(self) -> None:
        hidden = self._build_trunk()
        self.pi = nn.Linear(hidden, self.action_space.n)
        self.vf = nn.Linear(hidden, 1)

    def _forward(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        emb, state_out = self._run_trunk(self.encoder, self.lstm, batch[Columns.OBS], batch[Columns.STATE_IN])
        return {Columns.ACTION_DIST_INPUTS: self.pi(emb), Columns.STATE_OUT: state_out}

    def _forward_train(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        emb, state_out = self._run_trunk(self.encoder, self.lstm, batch[Columns.OBS], batch[Columns.STATE_IN])
        return {Columns.ACTION_DIST_INPUTS: self.pi(emb), Columns.STATE_OUT: state_out, Columns.EMBEDDINGS: emb}

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        if embeddings is None:
            embeddings, _ = self._run_trunk(self.encoder, self.lstm, batch[Columns.OBS], batch[Columns.STATE_IN])
        return self.vf(embeddings).squeeze(-1)


def dueling_q(af: nn.Module, vf: nn.Module | None, emb: torch.Tensor) -> torch.Tensor:
    """Q = V + A - mean(A) when dueling (vf given), else A."""
    adv = af(emb)
    if vf is None:
        return adv
    return vf(emb) + adv - adv.mean(dim=-1, keepdim=True)


class LSTMDuelingQModule(_NoModeSwitch, _RecurrentTrunk, TorchRLModule, QNetAPI, TargetNetworkAPI, InferenceOnlyAPI):
    """DQN module: shared trunk, an advantage head and (dueling) a value head; epsilon-greedy exploration."""

    def setup(self) -> None:
        if int(self.model_config.get("num_atoms", 1)) != 1:
            raise ValueError("LSTMDuelingQModule supports expectation DQN only (num_atoms = 1)")
        hidden = self._build_trunk()
        self.dueling = bool(self.model_config.get("dueling", True))
        self.double_q = bool(self.model_config.get("double_q", True))
        self.af = nn.Linear(hidden, self.action_space.n)
        self.vf = nn.Linear(hidden, 1) if self.dueling else None
        self.epsilon_schedule = Scheduler(
            fixed_value_or_schedule=self.model_config.get("epsilon", 0.0), framework="torch"
        )

    # --- Q values: online and target networks ---------------------------------------------------------------
    def compute_q_values(self, batch: dict[str, Any]) -> dict[str, Any]:
        emb, state_out = self._run_trunk(self.encoder, self.lstm, batch[Columns.OBS], batch[Columns.STATE_IN])
        return {QF_PREDS: dueling_q(self.af, self.vf, emb), Columns.STATE_OUT: state_out}

    def make_target_networks(self) -> None:
        for name, net in self._online_nets():
            setattr(self, TARGET_PREFIX + name, make_target_network(net))

    def get_target_network_pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        return [(net, getattr(self, TARGET_PREFIX + name)) for name, net in self._online_nets()]

    def forward_target(self, batch: dict[str, Any]) -> dict[str, Any]:
        t = TARGET_PREFIX
        emb, state_out = self._run_trunk(
            getattr(self, t + "encoder"), getattr(self, t + "lstm"), batch[Columns.OBS], batch[Columns.STATE_IN]
        )
        vf = getattr(self, t + "vf") if self.dueling else None
        return {QF_PREDS: dueling_q(getattr(self, t + "af"), vf, emb), Columns.STATE_OUT: state_out}

    def get_non_inference_attributes(self) -> list[str]:
        return [TARGET_PREFIX + name for name, _ in self._online_nets()]

    def _online_nets(self) -> list[tuple[str, nn.Module]]:
        nets = [("encoder", self.encoder), ("lstm", self.lstm), ("af", self.af)]
        return nets + ([("vf", self.vf)] if self.dueling else [])

    # --- the three forward passes (sampling ones without autograd, as RLlib's defaults) ----------------------
    @torch.no_grad()
    def _forward_inference(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        out = self.compute_q_values(batch)
        return {Columns.ACTIONS: out[QF_PREDS].argmax(dim=-1), Columns.STATE_OUT: out[Columns.STATE_OUT]}

    @torch.no_grad()
    def _forward_exploration(self, batch: dict[str, Any], t: int = 0, **kwargs) -> dict[str, Any]:
        out = self.compute_q_values(batch)
        greedy = out[QF_PREDS].argmax(dim=-1)
        self.epsilon_schedule.update(t)
        epsilon = float(self.epsilon_schedule.get_current_value())
        random_actions = torch.randint_like(greedy, self.action_space.n)
        explore = torch.rand(greedy.shape, device=greedy.device) < epsilon
        return {
            Columns.ACTIONS: torch.where(explore, random_actions, greedy),
            Columns.STATE_OUT: out[Columns.STATE_OUT],
        }

    def _forward_train(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        """Q(s) (and, for double Q, Q(s') from the online net) plus target Q(s') for the TD loss."""
        obs, state = batch[Columns.OBS], batch[Columns.STATE_IN]
        if self.double_q:
            obs = torch.cat([obs, batch[Columns.NEXT_OBS]], dim=0)
            state = {k: torch.cat([state[k], batch[Columns.NEXT_STATE_IN][k]], dim=0) for k in state}
        online = self.compute_q_values({Columns.OBS: obs, Columns.STATE_IN: state})
        out: dict[str, Any] = {Columns.STATE_OUT: online[Columns.STATE_OUT]}
        if self.double_q:
            out[QF_PREDS], out[QF_NEXT_PREDS] = torch.chunk(online[QF_PREDS], 2, dim=0)
        else:
            out[QF_PREDS] = online[QF_PREDS]
        target = self.forward_target(
            {Columns.OBS: batch[Columns.NEXT_OBS], Columns.STATE_IN: batch[Columns.NEXT_STATE_IN]}
        )
        out[QF_TARGET_NEXT_PREDS] = target[QF_PREDS]
        out[Columns.NEXT_STATE_OUT] = target[Columns.STATE_OUT]
        return out
