"""Fast policy inference without torch or Ray: a trained module's weights as numpy, run by compiled kernels.

`load_net(checkpoint)` reads the RLModule's weights straight from the checkpoint's `module_state.pkl` (a pickle of
numpy arrays: no RLlib import, ~0.1 s); `PolicyNet.from_module` takes them from a live module during training.
`FastPolicy` runs them (rl/netkernel.py): per bar, one pass over all B segments, recurrent state carried here.
Backtests do not even call it once per bar: `rl.lockstep` fuses these kernels with the simulator's step.

`FastPolicy.scores(obs[B, D])` returns the head output (PPO logits or DQN Q-values) and advances the state;
`decide` turns scores into actions and a confidence margin:
- PPO: greedy action = argmax logits (what RLlib's deterministic inference does); margin = p(best) - p(second).
- DQN: greedy action = argmax Q; margin = Q(best) - Q(second). With `min_q_diff` > 0 the policy holds unless
  Q(best) - Q(HOLD) >= min_q_diff.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backtest.sim.layout import N_POSITION_STATE as POSITION_STATE_DIM
from rl import netkernel as nk

MODULE_SUBDIR = Path("learner_group") / "learner" / "rl_module" / "default_policy"
STATE_FILE = "module_state.pkl"
KINDS = {"ppo": nk.KIND_PPO, "dqn": nk.KIND_DQN}


def default_threads() -> int:
    """BLAS threads per process for inference: 1 unless AML100_INFER_THREADS says otherwise.

    Per-bar matrices are small ([B <= ~50, 256] x [256, 512]); OpenBLAS's own threads only fight the other worker
    processes for the cores (measured on 2 cores: a [26, 128] x [128, 512] product took 275 us with OpenBLAS threads,
    54 us without). Parallelism comes from running segments in separate processes.
    """
    return max(1, int(os.environ.get("AML100_INFER_THREADS", "1")))


_BLAS: dict[str, Any] = {"limited": False}


def limit_blas_threads() -> None:
    """Hold OpenBLAS (which numba's np.dot calls) to `default_threads()` threads in this process, once."""
    if _BLAS["limited"]:
        return
    import scipy.linalg.cython_blas  # noqa: F401 - load the BLAS that numba's np.dot binds, so it can be limited
    from threadpoolctl import ThreadpoolController

    ThreadpoolController().select(internal_api="openblas").limit(limits=default_threads())
    _BLAS["limited"] = True


def _numpy(value: Any) -> np.ndarray:
    """A float32 copy (a live module's tensors keep training: the weights must not follow them)."""
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    return np.array(value, dtype=np.float32, order="C", copy=True)


@dataclass
class PolicyNet:
    """The inference weights of one module (rl/modules.py), float32, PyTorch layouts ([out, in])."""

    kind: str  # "ppo" | "dqn"
    encoder: list[tuple[np.ndarray, np.ndarray]]  # (weight [out, in], bias [out]) per Linear + tanh
    lstm: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]  # (w_ih [4H, in], w_hh [4H, H], b_ih, b_hh)
    head: tuple[np.ndarray, np.ndarray]  # PPO policy logits or DQN advantages: ([A, H], [A])
    value: tuple[np.ndarray, np.ndarray] | None = None  # DQN dueling value head ([1, H], [1])

    @property
    def obs_dim(self) -> int:
        return int(self.encoder[0][0].shape[1] if self.encoder else self.lstm[0][0].shape[1])

    @property
    def hidden(self) -> int:
        return int(self.lstm[0][1].shape[1])

    @property
    def n_actions(self) -> int:
        return int(self.head[0].shape[0])

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any]) -> PolicyNet:
        """From a module's state dict (numpy arrays or tensors); target networks and the PPO value head are ignored."""
        s = {k: v for k, v in state.items() if not k.startswith("_target_")}
        if "pi.weight" in s:
            kind, head, value = "ppo", "pi", None
        elif "af.weight" in s:
            kind, head, value = "dqn", "af", ("vf" if "vf.weight" in s else None)
        else:
            raise ValueError(f"unsupported module state (keys {sorted(s)[:6]}...): expected one of rl/modules.py")
        enc_ids = sorted({int(k.split(".")[1]) for k in s if k.startswith("encoder.") and k.endswith(".weight")})
        encoder = [(_numpy(s[f"encoder.{i}.weight"]), _numpy(s[f"encoder.{i}.bias"])) for i in enc_ids]
        n_lstm = len([k for k in s if k.startswith("lstm.weight_ih_l")])
        lstm = [
            tuple(_numpy(s[f"lstm.{name}_l{n}"]) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
            for n in range(n_lstm)
        ]
        return cls(
            kind=kind,
            encoder=encoder,
            lstm=lstm,  # type: ignore[arg-type]
            head=(_numpy(s[f"{head}.weight"]), _numpy(s[f"{head}.bias"])),
            value=None if value is None else (_numpy(s[f"{value}.weight"]), _numpy(s[f"{value}.bias"])),
        )

    @classmethod
    def from_module(cls, module: Any) -> PolicyNet:
        """From a live torch RLModule (e.g. the trainer's, for validation during training)."""
        return cls.from_state_dict(module.state_dict())


def module_state_path(checkpoint: str | Path) -> Path:
    path = Path(checkpoint)
    for candidate in (path / MODULE_SUBDIR / STATE_FILE, path / STATE_FILE):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{checkpoint}: no {MODULE_SUBDIR / STATE_FILE}; is it an RLlib algorithm checkpoint?")


def load_net(checkpoint: str | Path) -> PolicyNet:
    """The inference weights of an RLlib algorithm checkpoint (or module directory); imports neither RLlib nor torch."""
    with open(module_state_path(checkpoint), "rb") as fh:
        return PolicyNet.from_state_dict(pickle.load(fh))


def load_module(checkpoint: str | Path) -> Any:
    """The torch RLModule of a checkpoint (imports RLlib; for tests and tools; backtests use `load_net`)."""
    from ray.rllib.core.rl_module.rl_module import RLModule

    path = Path(checkpoint)
    if (path / MODULE_SUBDIR).is_dir():
        path = path / MODULE_SUBDIR
    module = RLModule.from_checkpoint(path.resolve())
    module.eval()
    return module.to("cpu")


@dataclass
class Packed:
    """Several nets in the kernel's layout: one flat weight buffer and the layer / member tables."""

    buf: np.ndarray  # float32 [n]
    layers: np.ndarray  # int64 [L, N_LT]
    members: np.ndarray  # int64 [M, N_MT]
    n_lstm: int
    state_width: int  # recurrent state floats per row: sum of 2 H over LSTM layers
    hidden_max: int
    width_max: int  # widest activation (observation, encoder output, LSTM output)
    n_actions: int
    min_q_diff: np.ndarray = field(default_factory=lambda: np.zeros(0))  # float64 [M]

    @classmethod
    def of(cls, nets: list[PolicyNet], min_q_diff: list[float], widths: list[int] | None = None) -> Packed:
        """Pack `nets`; member m reads feature columns [sum(widths[:m]), + widths[m]) of the observation rows."""
        parts: list[np.ndarray] = []
        size = 0

        def put(a: np.ndarray) -> int:
            nonlocal size
            off = size
            parts.append(np.ascontiguousarray(a, dtype=np.float32).ravel())
            size += parts[-1].size
            return off

        layers, members = [], []
        n_lstm = hidden_max = state_width = 0
        width_max = 0
        col = 0
        actions = {net.n_actions for net in nets}
        if len(actions) != 1:
            raise ValueError(f"members disagree on the number of actions: {sorted(actions)}")
        for m, net in enumerate(nets):
            first = len(layers)
            width_max = max(width_max, net.obs_dim)
            for w, b in net.encoder:
                layers.append((nk.ENC, put(w.T), w.shape[1], w.shape[0], put(b), -1, -1))
                width_max = max(width_max, w.shape[0])
            for w_ih, w_hh, b_ih, b_hh in net.lstm:
                hidden = w_hh.shape[1]
                bias = put(b_ih + b_hh)
                by_gate_ih = w_ih.reshape(4, hidden, -1).transpose(0, 2, 1)  # [4, in, H]: gate q's W_ih^T
                by_gate_hh = w_hh.reshape(4, hidden, hidden).transpose(0, 2, 1)  # [4, H, H]
                layers.append((nk.LSTM, put(by_gate_ih), w_ih.shape[1], hidden, bias, state_width, put(by_gate_hh)))
                n_lstm += 1
                state_width += 2 * hidden
                hidden_max = max(hidden_max, hidden)
            w, b = net.head
            layers.append((nk.HEAD, put(w.T), w.shape[1], w.shape[0], put(b), -1, -1))
            if net.value is not None:
                w, b = net.value
                layers.append((nk.VALUE, put(w.T), w.shape[1], 1, put(b), -1, -1))
            width = net.obs_dim - POSITION_STATE_DIM if widths is None else widths[m]
            if width + POSITION_STATE_DIM != net.obs_dim:
                raise ValueError(f"member {m} ({net.kind}) reads {net.obs_dim} inputs, got {width} feature columns")
            members.append((KINDS[net.kind], first, len(layers) - first, col, width))
            col += width
        return cls(
            buf=np.concatenate(parts) if parts else np.zeros(0, np.float32),
            layers=np.asarray(layers, dtype=np.int64).reshape(-1, nk.N_LT),
            members=np.asarray(members, dtype=np.int64).reshape(-1, nk.N_MT),
            n_lstm=n_lstm,
            state_width=state_width,
            hidden_max=hidden_max,
            width_max=max(width_max, hidden_max),
            n_actions=actions.pop(),
            min_q_diff=np.asarray(min_q_diff, dtype=np.float64),
        )

    def new_state(self, rows: int) -> np.ndarray:
        """Zero recurrent state for `rows` rows (flat; layout in `rl.netkernel.member_forward`)."""
        return np.zeros(rows * self.state_width, dtype=np.float32)

    def scratch(self) -> tuple[np.ndarray, ...]:
        """Work buffers of `member_forward` (for one chunk of rows): two activations, h, two [4, rows, H] gates."""
        rows = nk.CHUNK_ROWS
        act, gates = rows * max(self.width_max, 1), rows * 4 * max(self.hidden_max, 1)
        return tuple(np.zeros(n, np.float32) for n in (act, act, rows * max(self.hidden_max, 1), gates, gates))


def rows_for(batch: int) -> int:
    """Rows the kernels compute for `batch` segments (a batch of one is computed as two identical rows)."""
    return max(batch, nk.MIN_ROWS)


class FastPolicy:
    """Greedy recurrent policy over B lockstep segments; `kind` is "ppo" or "dqn".

    Built from a `PolicyNet` (see `load_net`) or a live torch module (converted once); `min_q_diff` is
    trading.min_q_diff (DQN: hold unless Q(best) - Q(HOLD) reaches it).
    """

    def __init__(self, net: Any, min_q_diff: float) -> None:
        self.net = net if isinstance(net, PolicyNet) else PolicyNet.from_module(net)
        self.kind = self.net.kind
        self.min_q_diff = float(min_q_diff)
        self.packed = Packed.of([self.net], [self.min_q_diff])
        self.reset(1)

    def reset(self, batch: int) -> None:
        self.batch = int(batch)
        self.rows = rows_for(self.batch)
        self.state = self.packed.new_state(self.rows)
        self._scratch = self.packed.scratch()
        self._obs = np.zeros((self.rows, self.net.obs_dim), np.float32)
        self._scores = np.zeros((self.rows, self.packed.n_actions), np.float32)

    def _step(self, obs: np.ndarray) -> np.ndarray:
        limit_blas_threads()
        if obs.shape != (self.batch, self.net.obs_dim):
            raise ValueError(f"expected observations of shape {(self.batch, self.net.obs_dim)}, got {obs.shape}")
        self._obs[: self.batch] = obs
        self._obs[self.batch :] = obs[0]
        m = self.packed.members[0]
        nk.member_forward(
            self.packed.buf, self.packed.layers, m[nk.MT_FIRST], m[nk.MT_COUNT], self._obs, self.state,
            self._scratch, self._scores,
        )  # fmt: skip
        return self._scores[: self.batch].copy()

    def scores(self, obs: np.ndarray) -> np.ndarray:
        """Head outputs [B, A] (or [B, T, A] for obs [B, T, D]) for the next step(s); advances the state."""
        obs = np.asarray(obs, dtype=np.float32)
        if obs.ndim == 3:
            return np.stack([self._step(obs[:, t]) for t in range(obs.shape[1])], axis=1)
        return self._step(obs)

    def decide(self, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Actions int8 and confidence margins float32 from head outputs (last axis = actions)."""
        flat = np.ascontiguousarray(scores, dtype=np.float32).reshape(-1, scores.shape[-1])
        actions = np.zeros(len(flat), np.int8)
        margins = np.zeros(len(flat), np.float32)
        nk.decide(KINDS[self.kind], flat, self.min_q_diff, actions, margins)
        return actions.reshape(scores.shape[:-1]), margins.reshape(scores.shape[:-1])

    def act(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step for B segments: (actions int8 [B], margins float32 [B])."""
        return self.decide(self.scores(obs))
