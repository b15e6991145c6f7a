"""One strategy interface, run two ways.

Every strategy decides at the close of bar t, from data up to t only, one of HOLD / BUY / SELL
(`backtest.sim.layout`; what an action does to the account is `backtest.sim.rules.action_orders`, the action
interpreter the simulator, the env and the live trader share).

- `SignalStrategy` decides from market data alone. Batched: `signals(close, features)` over a whole series (the
  simulator's whole-series path). Bar by bar: `signal_stream()`, warmed up on history, then one `push` per closed bar.
- `PolicyStrategy` also sees the simulator's position state, so it runs in lockstep with the simulator. Batched:
  `prepare` once over the series, `reset(B)`, then one `act(obs[B, D])` per bar for B segments. Bar by bar: the
  same `act` with B = 1, after `extend` has prepared the new bar's row.

`backtest.strategies.stream.StrategyStream` drives either kind one closed bar at a time (live trading, replays) and
`backtest.runner` drives them batched; `tests/backtest/strategies/test_stream.py` shows both take the same actions.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Protocol

import numpy as np

from backtest.sim.layout import BUY, HOLD, SELL

if TYPE_CHECKING:
    from backtest.sim import Market, SegmentRun, SimParams

__all__ = ["BUY", "HOLD", "SELL", "PolicyStrategy", "SignalStrategy", "SignalStream", "Strategy"]


class Strategy(ABC):  # noqa: B024 - declarations only; the two kinds add abstract methods
    """What every strategy declares besides how it decides."""

    name: str = "strategy"
    uses_drawdown_halt: bool = True  # False only for baselines that hold through drawdowns (buy-and-hold)
    param_overrides: tuple[str, ...] = ()  # execution settings ("section.key=value") the strategy must run with


class SignalStream(Protocol):
    """A signal strategy one closed bar at a time."""

    def warm_up(self, close: np.ndarray, features: np.ndarray) -> None:
        """Take the history (closes and raw feature rows up to the last closed bar) without deciding."""

    def push(self, close: float, features_row: np.ndarray) -> int:
        """The action at the close of the bar that just closed."""


class SignalStrategy(Strategy):
    """A strategy whose decision at bar t depends on market data up to t only (never on its own fills)."""

    name = "signal"

    @abstractmethod
    def signals(self, close: np.ndarray, features: np.ndarray) -> np.ndarray:
        """int8 actions [T] (HOLD/BUY/SELL) decided at each bar's close."""

    def signal_stream(self) -> SignalStream:
        """The bar-by-bar form. This default keeps the series and returns the last of `signals` (exact, since
        `signals` is causal, but O(T) a bar); strategies with their own state override it (see the rules)."""
        return RecomputeSignalStream(self)


class PolicyStrategy(Strategy):
    """A stateful policy that sees observation = prepared features[t] + position state, batched over segments."""

    name = "policy"

    def prepare_features(self, features: np.ndarray) -> np.ndarray:
        """Row-wise transform of raw causal features (e.g. normalise with training statistics); identity here."""
        return features

    def prepare(self, close: np.ndarray, features: np.ndarray) -> np.ndarray:
        """Observation features [T, F'] for a whole series (row t from data up to t only)."""
        return self.prepare_features(features)

    def extend(self, close: float, features_row: np.ndarray) -> np.ndarray:
        """The observation features row of one more bar, after the series last given to `prepare` (bar by bar).

        This default assumes `prepare` is row-wise; strategies that look across bars (the ensemble's rules
        fallback) override it.
        """
        return self.prepare(np.asarray([close], dtype=np.float64), np.asarray(features_row)[None])[0]

    @abstractmethod
    def reset(self, batch: int) -> None:
        """Start `batch` independent segments from a fresh recurrent state."""

    @abstractmethod
    def act(self, obs: np.ndarray) -> np.ndarray:
        """Actions int8 [B] for observations float32 [B, D]; carries recurrent state internally."""

    def act_explained(self, obs: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """`act` plus whatever explains the decision (confidence margins, member votes), arrays of length B."""
        return self.act(obs), {}

    def warm(self) -> None:
        """Optional: load compiled code ahead of the first run. Ray workers call it as they start, while the driver
        is still loading data (`backtest.runner.start_workers`)."""

    def lockstep(
        self,
        market: Market,
        features: np.ndarray,
        params: SimParams,
        segments: list[tuple[int, int]],
        warmup: int,
        peaks: list[float] | None,
    ) -> list[SegmentRun] | None:
        """Optional compiled form of the runner's lockstep loop (`backtest.runner.run_policy`) for these segments.

        A strategy may run the loop itself (e.g. its network fused with the simulator's step in one compiled
        function) if it takes exactly the actions `act` would; None (the default) lets the runner call `act` once
        per bar. `features` are this strategy's prepared features.
        """
        return None


class RecomputeSignalStream:
    """Any `SignalStrategy` bar by bar: append the bar, recompute `signals` over the series, take the last."""

    def __init__(self, strategy: SignalStrategy) -> None:
        self.strategy = strategy
        self._close = np.zeros(0)
        self._features: np.ndarray | None = None
        self._n = 0

    def warm_up(self, close: np.ndarray, features: np.ndarray) -> None:
        self._close = np.array(close, dtype=np.float64)
        self._features = np.array(features, dtype=np.float32)
        self._n = len(self._close)

    def push(self, close: float, features_row: np.ndarray) -> int:
        row = np.asarray(features_row, dtype=np.float32)
        if self._features is None:
            self._features = np.zeros((0, len(row)), dtype=np.float32)
        if self._n == len(self._close):  # grow by doubling: amortised O(1) appends
            cap = max(16, 2 * len(self._close))
            self._close = np.resize(self._close, cap)
            self._features = np.resize(self._features, (cap, len(row)))
        self._close[self._n] = close
        self._features[self._n] = row
        self._n += 1
        return int(self.strategy.signals(self._close[: self._n], self._features[: self._n])[-1])
