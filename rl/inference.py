"""Fast batched policy inference without Ray: plain torch on the module's own layers, recurrent state carried here.

Per bar, ONE forward over all B segments: encoder MLP -> nn.LSTM (T = 1, state [L, B, H]) -> head. Never call a
module once per bar per segment: the per-call overhead then multiplies by B (see docs/RL.md for measurements).

`FastPolicy.scores(obs[B, D])` returns the head output (PPO logits or DQN Q-values) and advances the state;
`decide` turns scores into actions and a confidence margin:
- PPO: greedy action = argmax logits (what RLlib's deterministic inference does); margin = p(best) - p(second).
- DQN: greedy action = argmax Q; margin = Q(best) - Q(second). With `min_q_diff` > 0 the policy holds unless
  Q(best) - Q(HOLD) >= min_q_diff.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rl.modules import LSTMActorCriticModule, LSTMDuelingQModule

MODULE_SUBDIR = Path("learner_group") / "learner" / "rl_module" / "default_policy"
HOLD = 0


def default_threads() -> int:
    """Torch intra-op threads for lockstep inference: 1 unless AML100_INFER_THREADS says otherwise.

    Per-bar matrices are small ([B <= ~100, 128] x [128, 512]); measured on 2 shared cores, 2 threads were several
    times slower than 1 for nn.LSTM (thread hand-off dominates), so one thread per process is the default and
    parallelism comes from running segments in separate processes.
    """
    return max(1, int(os.environ.get("AML100_INFER_THREADS", "1")))


def load_module(checkpoint: str | Path) -> Any:
    """The RLModule of an RLlib algorithm checkpoint (or a module directory), on CPU, eval mode; no Ray needed."""
    from ray.rllib.core.rl_module.rl_module import RLModule

    path = Path(checkpoint)
    if (path / MODULE_SUBDIR).is_dir():
        path = path / MODULE_SUBDIR
    module = RLModule.from_checkpoint(path.resolve())
    module.eval()
    return module.to("cpu")


class FastPolicy:
    """Greedy recurrent policy over B lockstep segments; `kind` is "ppo" or "dqn" (from the module class)."""

    def __init__(self, module: Any, min_q_diff: float = 0.0, threads: int | None = None) -> None:
        if isinstance(module, LSTMActorCriticModule):
            self.kind, self.head = "ppo", module.pi
            self._value = None
        elif isinstance(module, LSTMDuelingQModule):
            self.kind, self.head = "dqn", module.af
            self._value = module.vf
        else:
            raise TypeError(f"unsupported module {type(module).__name__}; expected one of rl.modules")
        self.encoder, self.lstm = module.encoder, module.lstm
        self.layers, self.hidden = module.lstm_layers, module.lstm_hidden
        self.min_q_diff = float(min_q_diff)
        self.threads = threads or default_threads()
        self.reset(1)

    def reset(self, batch: int) -> None:
        self.h = torch.zeros(self.layers, batch, self.hidden)
        self.c = torch.zeros(self.layers, batch, self.hidden)

    @torch.inference_mode()
    def scores(self, obs: np.ndarray) -> np.ndarray:
        """Head outputs [B, A] (or [B, T, A] for obs [B, T, D]) for the next step(s); advances the state."""
        torch.set_num_threads(self.threads)
        x = torch.from_numpy(np.ascontiguousarray(obs, dtype=np.float32))
        seq = x.dim() == 3
        if not seq:
            x = x.unsqueeze(1)
        out, (self.h, self.c) = self.lstm(self.encoder(x), (self.h, self.c))
        q = self.head(out)
        if self._value is not None:
            q = self._value(out) + q - q.mean(dim=-1, keepdim=True)
        q = q if seq else q[:, 0]
        return q.numpy()

    def decide(self, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Actions int8 and confidence margins float32 from head outputs (last axis = actions)."""
        actions = scores.argmax(axis=-1)
        if self.kind == "ppo":
            z = scores - scores.max(axis=-1, keepdims=True)
            values = np.exp(z)
            values /= values.sum(axis=-1, keepdims=True)
        else:
            values = scores
            if self.min_q_diff > 0:
                best = np.take_along_axis(scores, actions[..., None], axis=-1)[..., 0]
                actions = np.where(best - scores[..., HOLD] >= self.min_q_diff, actions, HOLD)
        top2 = np.sort(values, axis=-1)[..., -2:]
        return actions.astype(np.int8), (top2[..., 1] - top2[..., 0]).astype(np.float32)

    def act(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step for B segments: (actions int8 [B], margins float32 [B])."""
        return self.decide(self.scores(obs))
