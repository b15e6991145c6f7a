"""The oracle: trades the synthetic generator's planted edge perfectly, the ceiling a learner is measured against.

Only synthetic data with the edge on has a planted signal (`backtest.data.synth.SynthPath.signal`). The oracle
knows the generator's hidden state up to and including bar t (regime, the trend's direction, the AR(1) component)
and never a future price. At t's close it asks for:

- inside a trend regime (drift planted at t): the trend's direction. From flat it enters only when the expected
  next return, drift + phi * u_t, agrees with the trend (the AR(1) component times the entry); once in, it holds
  while the regime lasts and re-enters the same way after a take-profit, stop or time-out closed the position;
- anywhere else: flat (it closes what it holds).

It is a `PolicyStrategy` (it needs its position to know whether to enter, hold or close) and goes through the same
runner, simulator, fees, slippage, latency, TP/SL, max hold and drawdown halt as every strategy, so its test PnL is
what a perfect reader of the planted signal earns under the same execution. `capture = policy PnL / oracle PnL`.

It finds the bars it is given inside the generated path by their exact closes: on bars that are not the generator's
output for these params (real or hybrid data, another seed, other synth settings) it refuses, naming why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from backtest.strategies.base import BUY, HOLD, SELL, PolicyStrategy

if TYPE_CHECKING:
    from backtest.config import Params
    from backtest.data.synth import SynthPath

N_SIGNAL = 2  # prepared columns: target position, expected next return (bps)


class OracleError(ValueError):
    """The oracle cannot run here (no planted edge, or bars that are not the generator's)."""


class OracleStrategy(PolicyStrategy):
    """Perfect reader of a generated path's planted signal (see the module docstring)."""

    name = "oracle"

    def __init__(self, path: SynthPath) -> None:
        signal = path.signal()
        if not np.any(signal["target"].to_numpy() != 0):
            raise OracleError(
                "the oracle needs a planted edge: these synthetic bars carry none (synth.edge.enabled=false, or "
                "synth.trend_drift_bps=0): on a random walk there is nothing to trade perfectly"
            )
        self._close = path.bars["close"].to_numpy(np.float64)
        self._signal = np.column_stack(
            [signal["target"].to_numpy(np.float32), signal["expected_next_bps"].to_numpy(np.float32)]
        ).astype(np.float32)

    @classmethod
    def for_params(cls, params: Params, source: str | None = None, days: float | None = None) -> OracleStrategy:
        """The oracle of the synthetic bars `load_dataset(params, source, days)` gives; refuses other data."""
        from backtest.config import interval_seconds
        from backtest.data.synth import DEFAULT_START, simulate
        from backtest.venue.calendar import calendar_for

        source = source or params.backtest.data_source
        if source != "synthetic":
            raise OracleError(
                f"the oracle knows the planted signal of synthetic data only (--data synthetic); data source is "
                f"{source!r}, whose future nobody knows"
            )
        if not params.synth.edge.enabled:
            raise OracleError(
                "the oracle needs the planted edge (--set synth.edge.enabled=true): on a random walk there is "
                "nothing to trade perfectly"
            )
        interval_s = interval_seconds(params.backtest.interval)
        days = float(days if days is not None else params.backtest.days)
        n = round(days * 86400 / interval_s)
        calendar = calendar_for(params.market.coin)  # the off-session mode, as load_dataset generates the bars
        return cls(simulate(n, params.synth, start=DEFAULT_START, interval_s=interval_s, calendar=calendar))

    def prepare(self, close: np.ndarray, features: np.ndarray) -> np.ndarray:
        """[T, 2] (target, expected next bps) for the bars whose closes are `close`, found in the generated path."""
        lo = self._locate(np.asarray(close, dtype=np.float64))
        return self._signal[lo : lo + len(close)]

    def _locate(self, close: np.ndarray) -> int:
        if len(close) == 0:
            return 0
        for lo in np.flatnonzero(self._close == close[0]):
            if lo + len(close) <= len(self._close) and np.array_equal(self._close[lo : lo + len(close)], close):
                return int(lo)
        raise OracleError(
            "these bars are not the synthetic generator's output for these params (same synth settings, seed and "
            "days): the oracle only knows the hidden state of the path it generated"
        )

    def extend(self, close: float, features_row: np.ndarray) -> np.ndarray:
        raise OracleError("the oracle reads the generator's hidden state: it runs in backtests, never bar by bar live")

    def reset(self, batch: int) -> None:
        """Stateless: nothing to reset."""

    def act(self, obs: np.ndarray) -> np.ndarray:
        target = obs[:, 0]
        expected = obs[:, 1]
        side = obs[:, N_SIGNAL]  # position state starts with the side (+1 / -1 / 0)
        out = np.full(len(obs), HOLD, dtype=np.int8)
        # flat target: close whatever is open
        out[(target == 0) & (side > 0)] = SELL
        out[(target == 0) & (side < 0)] = BUY
        for want, action in ((1.0, BUY), (-1.0, SELL)):
            mine = target == want
            out[mine & (side == -want)] = action  # closes the wrong-way position (the next bar may enter)
            out[mine & (side == 0) & (expected * want > 0)] = action  # enter when the next return leans our way
        return out
