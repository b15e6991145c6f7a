"""Ensemble of trained policies (PPO + DQN): majority vote with a rules fallback.

Per bar and segment, each member gives an action and a confidence margin (PPO: probability gap between its best
and second action; DQN: Q-value gap between its best and second action; rl/inference.py):

1. A member whose margin is below `trading.signal_threshold` abstains.
2. No member confident -> the RSI/MACD rules strategy's decision at that bar (causal).
3. Otherwise the action with the most confident votes wins.
4. A tie between different actions (e.g. PPO says BUY, DQN says SELL) is broken by `tie_break`:
   "hold" (default) -> HOLD, the conservative choice; "confident" -> the action of the member with the largest
   margin (note: PPO and DQN margins are in different units, so this favours whichever scale is larger).

The manifest (`ensemble.json`, loaded by `rl.policy.load_ensemble`) names the members and may set "tie_break" and
"fallback" ("rules" or "hold").

The ensemble's observation row is every member's prepared features side by side, then the fallback action, then
(appended by the driver) the position state: `act` needs nothing but the observation and the members' recurrent
state, so the batched backtest (`prepare` over the series) and the bar-by-bar live path (`extend`, with the rules
running as a `signal_stream`) feed it identically.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backtest.sim import HOLD, POSITION_STATE_DIM
from backtest.strategies.base import PolicyStrategy, SignalStrategy
from backtest.strategies.observation import build_observation
from rl import netkernel as nk

TIE_BREAKS = ("hold", "confident")  # index = rl.netkernel.TIE_HOLD / TIE_CONFIDENT
FALLBACKS = ("rules", "hold")


def combine(
    actions: np.ndarray, margins: np.ndarray, threshold: float, fallback: np.ndarray, tie_break: str = "hold"
) -> np.ndarray:
    """Vote: actions/margins [M, B] from M members, fallback [B] -> int8 [B] (rules in the module docstring).

    The compiled `rl.netkernel.vote`, which the fused backtest loop (rl/lockstep.py) calls too.
    """
    if tie_break not in TIE_BREAKS:
        raise ValueError(f"tie_break must be one of {TIE_BREAKS}, got {tie_break!r}")
    actions = np.ascontiguousarray(actions, dtype=np.int8)
    margins = np.asarray(margins)
    margins = np.ascontiguousarray(margins, dtype=np.float32 if margins.dtype == np.float32 else np.float64)
    out = np.zeros(actions.shape[1], dtype=np.int8)
    fallback = np.ascontiguousarray(np.broadcast_to(np.asarray(fallback, dtype=np.int8), out.shape))
    nk.vote(actions, margins, float(threshold), fallback, TIE_BREAKS.index(tie_break), out)
    return out


class EnsembleStrategy(PolicyStrategy):
    """Members with `prepare`, `extend`, `reset`, `act_with_margin`; see the module docstring for the vote."""

    name = "rl-ensemble"

    def __init__(
        self,
        members: list[Any],
        threshold: float,
        rules: SignalStrategy | None,
        tie_break: str = "hold",
        feature_names: list[str] | None = None,
        member_names: list[str] | None = None,
    ) -> None:
        if not members:
            raise ValueError("an ensemble needs at least one member")
        if tie_break not in TIE_BREAKS:
            raise ValueError(f"tie_break must be one of {TIE_BREAKS}, got {tie_break!r}")
        self.members = members
        self.member_names = member_names or [getattr(m, "kind", f"m{i}") for i, m in enumerate(members)]
        self.threshold = float(threshold)
        self.rules = rules
        self.tie_break = tie_break
        self.feature_names = feature_names
        self._widths: list[int] = []
        self._rules_stream: Any = None
        self._packed: Any = None

    # --- observation rows: [member 0 features | member 1 features | ... | fallback action] ------------------------
    def prepare(self, close: np.ndarray, features: np.ndarray) -> np.ndarray:
        parts = [np.asarray(m.prepare(close, features), dtype=np.float32) for m in self.members]
        self._widths = [p.shape[1] for p in parts]
        if self.rules is None:
            fallback = np.full(len(features), HOLD, dtype=np.int8)
        else:
            fallback = np.asarray(self.rules.signals(close, features), dtype=np.int8)
            self._rules_stream = self.rules.signal_stream()
            self._rules_stream.warm_up(close, features)
        return np.concatenate([*parts, fallback[:, None].astype(np.float32)], axis=1)

    def extend(self, close: float, features_row: np.ndarray) -> np.ndarray:
        if not self._widths:
            raise RuntimeError("call prepare(history) before extend")
        parts = [np.asarray(m.extend(close, features_row), dtype=np.float32) for m in self.members]
        fallback = HOLD if self._rules_stream is None else self._rules_stream.push(close, features_row)
        return np.concatenate([*parts, np.asarray([fallback], dtype=np.float32)])

    def reset(self, batch: int) -> None:
        for m in self.members:
            m.reset(batch)

    def _split(self, obs: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        if not self._widths:
            raise RuntimeError("call prepare before act")
        position = obs[:, -POSITION_STATE_DIM:]
        rows, k = [], 0
        for w in self._widths:
            rows.append(build_observation(obs[:, k : k + w], position))
            k += w
        return rows, obs[:, k].astype(np.int8), position

    def act_members(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every member's (actions, margins) stacked [M, B], and the fallback [B]."""
        rows, fallback, _ = self._split(obs)
        acts, margins = [], []
        for member, member_obs in zip(self.members, rows):
            a, m = member.act_with_margin(member_obs)
            acts.append(a)
            margins.append(m)
        return np.stack(acts), np.stack(margins), fallback

    def act(self, obs: np.ndarray) -> np.ndarray:
        return self.act_explained(obs)[0]

    def act_explained(self, obs: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        acts, margins, fallback = self.act_members(obs)
        out = combine(acts, margins, self.threshold, fallback, self.tie_break)
        detail: dict[str, np.ndarray] = {"fallback": fallback}
        for name, a, m in zip(self.member_names, acts, margins):
            detail[f"{name}_action"] = a
            detail[f"{name}_margin"] = m
        return out, detail

    def _compiled(self, widths: list[int]) -> tuple[Any, tuple[float, int, int]] | None:
        """The packed members and vote settings for rl/lockstep.py, if every member is a trained policy."""
        if not all(hasattr(m, "policy") for m in self.members):
            return None
        from rl.inference import Packed

        if self._packed is None or self._packed[0] != widths:
            nets = [m.policy.net for m in self.members]
            self._packed = (widths, Packed.of(nets, [m.policy.min_q_diff for m in self.members], widths=widths))
        return self._packed[1], (self.threshold, TIE_BREAKS.index(self.tie_break), sum(widths))

    def lockstep(self, market, features, params, segments, warmup, peaks):
        """The compiled loop (rl/lockstep.py) when every member is a trained policy (`RLPolicyStrategy`)."""
        compiled = self._compiled(self._widths) if self._widths else None
        if compiled is None:
            return None
        from rl.lockstep import run_lockstep

        packed, vote = compiled
        return run_lockstep(packed, market, features, params, segments, warmup, peaks, vote=vote)

    def warm(self) -> None:
        widths = self._widths or [
            m.policy.net.obs_dim - POSITION_STATE_DIM for m in self.members if hasattr(m, "policy")
        ]
        compiled = self._compiled(widths) if len(widths) == len(self.members) else None
        if compiled is not None:
            from rl.lockstep import warm

            warm(*compiled)
