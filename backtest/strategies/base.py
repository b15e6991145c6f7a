"""The two kinds of strategy the simulator serves.

- `SignalStrategy`: computes one action per bar for the whole series at once (vectorised, causal); the simulator runs
  it on its whole-series path. Rules and buy-and-hold are of this kind.
- `PolicyStrategy`: acts bar by bar on an observation that includes the simulator's position state (so it must run in
  lockstep with the simulator). Trained RL policies plug in here; the batched path advances many segments at once and
  calls `act` once per bar for all of them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

HOLD, BUY, SELL = 0, 1, 2


class SignalStrategy(ABC):
    """A strategy whose decision at bar t depends on market data up to t only (never on its own fills)."""

    name: str = "signal"

    @abstractmethod
    def signals(self, bars_close: np.ndarray, features: np.ndarray) -> np.ndarray:
        """int8 actions [T] (HOLD/BUY/SELL) decided at each bar's close."""


class PolicyStrategy(ABC):
    """A stateful policy that sees observation = features[t] + position state, batched over segments."""

    name: str = "policy"

    def bind_close(self, close: np.ndarray) -> None:
        """Receive the series' closing prices once, before `prepare_features` (e.g. for a rules fallback).

        Decisions at bar t must still use closes up to t only.
        """
        return None

    def prepare_features(self, features: np.ndarray) -> np.ndarray:
        """Transform the raw causal feature matrix once (e.g. normalise with training statistics)."""
        return features

    @abstractmethod
    def reset(self, batch: int) -> None:
        """Start `batch` independent segments from a fresh recurrent state."""

    @abstractmethod
    def act(self, obs: np.ndarray, bars: np.ndarray) -> np.ndarray:
        """Actions int8 [B] for observations float32 [B, D] at bar indices `bars` [B]; carries state internally."""
