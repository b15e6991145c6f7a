"""Ensemble of trained policies (PPO + DQN): majority vote with a rules fallback.

Per bar and segment, each member gives an action and a confidence margin (PPO: probability gap between its best
and second action; DQN: Q-value gap between its best and second action; rl/inference.py):

1. A member whose margin is below `trading.signal_threshold` abstains.
2. No member confident -> the RSI/MACD rules strategy's decision at that bar (causal, computed once up front).
3. Otherwise the action with the most confident votes wins.
4. A tie between different actions (e.g. PPO says BUY, DQN says SELL) is broken by `tie_break`:
   "hold" (default) -> HOLD, the conservative choice; "confident" -> the action of the member with the largest
   margin (note: PPO and DQN margins are in different units, so this favours whichever scale is larger).

The manifest (`ensemble.json`) names the members and may set "tie_break" and "fallback" ("rules" or "hold").
Each member normalises features with its own checkpoint's statistics; the engine's observation carries the first
member's features, so the others' observations are rebuilt from their own prepared features and the same position
state.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from backtest.config import Params
from backtest.strategies.base import HOLD, PolicyStrategy
from backtest.strategies.observation import build_observation
from rl import checkpoint as ck

TIE_BREAKS = ("hold", "confident")
FALLBACKS = ("rules", "hold")
N_ACTIONS = 3
POSITION_STATE_DIM = 4
RulesFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (close [T], raw features [T, F]) -> int8 actions [T]


def combine(
    actions: np.ndarray, margins: np.ndarray, threshold: float, fallback: np.ndarray, tie_break: str = "hold"
) -> np.ndarray:
    """Vote: actions/margins [M, B] from M members, fallback [B] -> int8 [B] (rules in the module docstring)."""
    if tie_break not in TIE_BREAKS:
        raise ValueError(f"tie_break must be one of {TIE_BREAKS}, got {tie_break!r}")
    actions = np.asarray(actions, dtype=np.int64)
    margins = np.asarray(margins, dtype=np.float64)
    confident = margins >= threshold
    votes = np.stack([((actions == a) & confident).sum(axis=0) for a in range(N_ACTIONS)])  # [A, B]
    top = votes.max(axis=0)
    winner = votes.argmax(axis=0)
    tied = (votes == top).sum(axis=0) > 1
    if tie_break == "hold":
        broken = np.full_like(winner, HOLD)
    else:
        masked = np.where(confident, margins, -np.inf)
        broken = np.take_along_axis(actions, masked.argmax(axis=0)[None], axis=0)[0]
    out = np.where(tied, broken, winner)
    out = np.where(top == 0, np.asarray(fallback, dtype=np.int64), out)
    return out.astype(np.int8)


class EnsembleStrategy(PolicyStrategy):
    """Members with `prepare_features`, `reset`, `act_with_margin`; see the module docstring for the vote."""

    name = "rl-ensemble"

    def __init__(
        self,
        members: list[Any],
        threshold: float,
        rules: RulesFn | None,
        tie_break: str = "hold",
        feature_names: list[str] | None = None,
    ) -> None:
        if not members:
            raise ValueError("an ensemble needs at least one member")
        if tie_break not in TIE_BREAKS:
            raise ValueError(f"tie_break must be one of {TIE_BREAKS}, got {tie_break!r}")
        self.members = members
        self.threshold = float(threshold)
        self.rules = rules
        self.tie_break = tie_break
        self.feature_names = feature_names
        self._close: np.ndarray | None = None
        self._features: list[np.ndarray] = []
        self._fallback: np.ndarray | None = None

    @classmethod
    def from_manifest(cls, path: str | Path, params: Params) -> EnsembleStrategy:
        from rl.policy import RLPolicyStrategy

        path = Path(path)
        manifest_path = path if path.is_file() else path / ck.MANIFEST_FILE
        manifest = json.loads(manifest_path.read_text())
        base = manifest_path.parent
        members = [RLPolicyStrategy.from_checkpoint(base / rel, params) for rel in manifest["members"].values()]
        fallback = manifest.get("fallback", "rules")
        if fallback not in FALLBACKS:
            raise ValueError(f"{manifest_path}: fallback must be one of {FALLBACKS}, got {fallback!r}")
        rules = None
        if fallback == "rules":
            from backtest.strategies.rules import RulesStrategy

            rules = RulesStrategy(params.trading).signals
        return cls(
            members,
            params.trading.signal_threshold,
            rules,
            tie_break=manifest.get("tie_break", "hold"),
            feature_names=members[0].feature_names,
        )

    def bind_close(self, close: np.ndarray) -> None:
        """Give the rules fallback the real close prices of the series about to be backtested."""
        self._close = np.asarray(close, dtype=np.float64)

    def prepare_features(self, features: np.ndarray) -> np.ndarray:
        self._features = [m.prepare_features(features) for m in self.members]
        n = len(features)
        if self.rules is None:
            self._fallback = np.full(n, HOLD, dtype=np.int8)
        else:
            if self._close is None or len(self._close) != n:
                raise ValueError("the rules fallback needs the series' closes: call bind_close(close) first")
            self._fallback = np.asarray(self.rules(self._close, features), dtype=np.int8)
        return self._features[0]

    def reset(self, batch: int) -> None:
        for m in self.members:
            m.reset(batch)

    def act_members(self, obs: np.ndarray, bars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every member's (actions, margins), stacked [M, B]."""
        position = obs[:, -POSITION_STATE_DIM:]
        acts, margins = [], []
        for i, member in enumerate(self.members):
            member_obs = obs if i == 0 else build_observation(self._features[i][bars], position)
            a, m = member.act_with_margin(member_obs, bars)
            acts.append(a)
            margins.append(m)
        return np.stack(acts), np.stack(margins)

    def act(self, obs: np.ndarray, bars: np.ndarray) -> np.ndarray:
        if self._fallback is None:
            raise RuntimeError("call prepare_features before act")
        acts, margins = self.act_members(obs, bars)
        return combine(acts, margins, self.threshold, self._fallback[bars], self.tie_break)
