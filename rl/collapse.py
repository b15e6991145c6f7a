"""Say when a training run has collapsed, and what to try: the two failures RL trading users meet most.

- "always trades and does not move": the greedy policy takes the same decisions iteration after iteration (the
  validation backtest identical), typically in a position every bar, paying costs;
- "always HOLD": the greedy policy never trades (FinRL #462 #620 #1107).

Per iteration the trainer hands over what it measured (`IterationStats`): the greedy validation decisions (the
action distribution, and how many decisions changed since the previous iteration), and for PPO the sampled policy's
entropy and the KL divergence of the update. `CollapseMonitor.observe` returns a warning once a condition has held
for `window` consecutive iterations (once per condition, and again if it comes back after clearing).

Thresholds are deliberately loose: they catch a policy that is stuck, not one that is merely confident.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from backtest.sim import ACTION_NAMES, HOLD

ONE_ACTION_SHARE = 0.99  # >= this share of decisions on one action: collapsed to that action
FROZEN_CHANGE = 0.0  # <= this share of decisions changed since the last iteration: frozen...
FROZEN_KL = 1e-4  # ... and (PPO) the update moved the policy less than this (mean KL)
MIN_ENTROPY = 0.1  # nats (uniform over 3 actions: 1.10): the sampled policy has stopped exploring
WINDOW = 3


@dataclass(frozen=True)
class IterationStats:
    """What one iteration measured: greedy validation decisions, and the sampled policy's entropy / update KL (PPO;
    None for DQN)."""

    iteration: int
    actions: np.ndarray  # greedy validation decisions per bar (HOLD/BUY/SELL; -1 = no decision)
    entropy: float | None = None
    kl: float | None = None

    def shares(self) -> np.ndarray:
        """Share of HOLD, BUY, SELL among the decisions taken."""
        a = self.actions[self.actions >= 0]
        counts = np.bincount(a.astype(np.int64), minlength=3)[:3].astype(np.float64)
        return counts / max(1.0, counts.sum())


def changed_share(previous: np.ndarray | None, current: np.ndarray) -> float | None:
    """Share of bars, decided in both, whose greedy decision changed; None without a previous iteration."""
    if previous is None or previous.shape != current.shape:
        return None
    both = (previous >= 0) & (current >= 0)
    return float(np.mean(previous[both] != current[both])) if both.any() else 0.0


class CollapseMonitor:
    """Feed it every iteration's stats; it returns a warning (text) when the run has collapsed."""

    def __init__(self, algo: str, window: int = WINDOW, edge_hint: str = "") -> None:
        self.algo = algo
        self.window = window
        self.edge_hint = edge_hint  # what the data is ("random walk" / "planted edge" / ""), for the advice
        self._previous: np.ndarray | None = None
        self._streak: dict[str, int] = {}
        self._warned: set[str] = set()
        self.collapsed: list[str] = []  # every condition that fired in this run
        self.last_change: float | None = None

    def observe(self, stats: IterationStats) -> str | None:
        change = changed_share(self._previous, stats.actions)
        self._previous = stats.actions.copy()
        self.last_change = change
        shares = stats.shares()
        top = int(np.argmax(shares))
        one_action = bool(shares[top] >= ONE_ACTION_SHARE)
        unchanged = change is not None and change <= FROZEN_CHANGE
        if stats.kl is None:  # DQN: unchanged decisions say nothing more than "always X" when that holds
            frozen = unchanged and not one_action
        else:  # PPO: the update itself did not move the policy
            frozen = unchanged and math.isfinite(stats.kl) and stats.kl < FROZEN_KL
        conditions = {
            f"always {ACTION_NAMES[top]}": one_action,
            "frozen": frozen,
            "entropy": stats.entropy is not None and math.isfinite(stats.entropy) and stats.entropy < MIN_ENTROPY,
        }
        fired = []
        for name, on in conditions.items():
            self._streak[name] = self._streak.get(name, 0) + 1 if on else 0
            if not on:
                self._warned.discard(name)
            elif self._streak[name] >= self.window and name not in self._warned:
                self._warned.add(name)
                fired.append(name)
        for name in list(self._streak):  # an "always X" for another X no longer holds
            if name.startswith("always ") and name not in conditions:
                self._streak[name] = 0
                self._warned.discard(name)
        if not fired:
            return None
        self.collapsed += fired
        return self._message(fired, stats, shares, change)

    def _message(self, fired: list[str], stats: IterationStats, shares: np.ndarray, change: float | None) -> str:
        dist = " ".join(f"{n} {s:.0%}" for n, s in zip(ACTION_NAMES, shares))
        what = [f"validation decisions {dist}"]
        if change is not None:
            what.append(f"{change:.1%} changed since the last iteration")
        if stats.entropy is not None:
            what.append(f"entropy {stats.entropy:.3f} (uniform {math.log(3):.3f})")
        if stats.kl is not None:
            what.append(f"update KL {stats.kl:.1e}")
        tries = []
        for name in fired:
            tries.append(self._advice(name))
        return (
            f"[{self.algo}] COLLAPSE ({', '.join(fired)}) for {self.window} iterations: {'; '.join(what)}. "
            f"Try: {' '.join(tries)}"
        )

    def _advice(self, name: str) -> str:
        if name == "frozen":
            return (
                "the policy is not moving: raise rl.learning_rate, or more env steps per iteration (--iter-steps) "
                "and rl.ppo.epochs (PPO); check that the reward is not constant (rl.reward)."
            )
        if name == "entropy":
            return "the sampled policy stopped exploring: raise rl.ppo.entropy."
        if name == f"always {ACTION_NAMES[HOLD]}":
            fix = (
                "explore longer (rl.epsilon.decay_steps for DQN, rl.ppo.entropy for PPO), train longer, and check "
                "that the edge can pay the costs at all (`python -m backtest --strategy oracle`)."
            )
            if self.edge_hint == "random walk":
                return f"holding is the right answer here (synth.edge.enabled=false: no edge). With an edge: {fix}"
            if self.edge_hint == "planted edge":
                return f"this data has a planted edge (synth.edge.enabled=true), so holding leaves it unused: {fix}"
            return f"holding is right on data without an edge; if yours has one: {fix}"
        return (
            "in a position every bar, paying costs each time: lower rl.ppo.entropy or raise rl.learning_rate so it "
            "learns what trading costs; with a max hold (trading.max_hold_seconds) every position is forced shut "
            "and reopened."
        )
