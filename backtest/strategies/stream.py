"""Any strategy one closed bar at a time: warm up on history, then one call per closed bar.

This is how the live trader (and a replay of it) runs the very strategy objects that backtests run. Features come
from `FeatureStream` (the `compute_features` kernel, bar by bar), signal strategies from their `signal_stream`,
policies from `prepare`/`extend` and `act` with a batch of one, the recurrent state carried inside. A backtest of
the same bars (one segment starting at the first bar after the history, warmed up on the `warmup_bars` bars before
it) takes the same actions; `tests/backtest/strategies/test_stream.py` proves it for the rules, and `tests/rl/` for
the RL policies and the ensemble.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from backtest.config import TradingConfig
from backtest.domain import Bar
from backtest.features import FeatureStream
from backtest.sim import ACTION_NAMES, POSITION_STATE_DIM
from backtest.strategies.base import PolicyStrategy, SignalStrategy, Strategy
from backtest.strategies.observation import build_observation


@dataclass(frozen=True)
class Decision:
    """What a strategy decided at one bar close, and why (margins, member votes) when it says."""

    bar_time_ms: int  # open time of the bar that just closed
    action: int
    detail: dict[str, float] = field(default_factory=dict)

    @property
    def action_name(self) -> str:
        return ACTION_NAMES[self.action]

    def to_dict(self) -> dict[str, Any]:
        return {"bar": self.bar_time_ms, "action": self.action_name, **self.detail}


class StrategyStream:
    """Drive `strategy` one closed bar at a time; `warm_up` first, then `on_bar` for every new closed bar."""

    def __init__(self, strategy: Strategy, trading: TradingConfig, warmup_bars: int, coin: str | None = None) -> None:
        if not isinstance(strategy, SignalStrategy | PolicyStrategy):
            raise TypeError(f"{type(strategy).__name__} is neither a SignalStrategy nor a PolicyStrategy")
        self.strategy = strategy
        self.warmup_bars = int(warmup_bars)
        self.features = FeatureStream(trading, coin)  # coin: whose session calendar the session features read
        self._signals = strategy.signal_stream() if isinstance(strategy, SignalStrategy) else None
        self._flat = np.zeros((1, POSITION_STATE_DIM), dtype=np.float32)
        self.last_time_ms: int | None = None
        self.warmed = False

    @property
    def n_bars(self) -> int:
        """Closed bars seen (history included)."""
        return self.features.n_bars

    def warm_up(self, history: pd.DataFrame) -> None:
        """Take the closed bars before the first live decision (bar schema, ascending, no gaps expected).

        A policy runs over the last `warmup_bars` of them with a flat position state, as a backtest segment's
        warm-up does, so its recurrent state is warm when trading starts.
        """
        if self.warmed:
            raise RuntimeError("warm_up was already called; push further bars with on_bar")
        if len(history) == 0:
            raise ValueError("warm_up needs at least one closed bar of history")
        raw = self.features.push_bars(history)
        close = history["close"].to_numpy(dtype=np.float64)
        if self._signals is not None:
            self._signals.warm_up(close, raw)
        else:
            policy = self.strategy
            assert isinstance(policy, PolicyStrategy)
            prepared = np.ascontiguousarray(policy.prepare(close, raw), dtype=np.float32)
            policy.reset(1)
            w = min(self.warmup_bars, len(history))
            for j in range(len(history) - w, len(history)):
                policy.act(build_observation(prepared[j : j + 1], self._flat))
        self.last_time_ms = int(pd.Timestamp(history["timestamp"].iloc[-1]).value // 1_000_000)
        self.warmed = True

    def on_bar(self, bar: Bar, position_state: np.ndarray) -> Decision:
        """The decision at the close of `bar` given the position state at that close (`POSITION_STATE_NAMES`)."""
        if not self.warmed:
            raise RuntimeError("call warm_up(history) before on_bar")
        if self.last_time_ms is not None and bar.time_ms <= self.last_time_ms:
            raise ValueError(f"bar {bar.time_ms} is not after the last one ({self.last_time_ms}): bars must be new")
        raw = self.features.push(bar.time_ms, bar.high, bar.low, bar.close, bar.volume)
        self.last_time_ms = bar.time_ms
        if self._signals is not None:
            return Decision(bar.time_ms, int(self._signals.push(bar.close, raw)))
        policy = self.strategy
        assert isinstance(policy, PolicyStrategy)
        row = np.asarray(policy.extend(bar.close, raw), dtype=np.float32)
        pos = np.asarray(position_state, dtype=np.float32).reshape(1, POSITION_STATE_DIM)
        actions, detail = policy.act_explained(build_observation(row[None], pos))
        return Decision(bar.time_ms, int(actions[0]), {k: float(np.asarray(v)[0]) for k, v in detail.items()})
