"""The RSI/MACD rule strategy from the configs.

At the close of bar t: BUY when RSI(t) < `rsi_buy_below`, SELL when RSI(t) > `rsi_sell_above`, else HOLD. With
`macd_confirm`, a BUY also needs the MACD histogram to be rising (hist[t] > hist[t-1]: momentum turning up out of the
oversold zone) and a SELL needs it falling. Everything uses closes up to t, so the rule is causal. One compiled
step (`_rules_step`, on the feature module's indicator steps) serves the whole-series and the bar-by-bar forms.
"""

from __future__ import annotations

import numpy as np

from backtest.config import TradingConfig
from backtest.features import N_STATE, macd_step, rsi_step
from backtest.jit import cached_njit
from backtest.strategies.base import BUY, HOLD, SELL, SignalStrategy

_PREV_HIST = N_STATE  # one slot past the indicator state: the previous bar's MACD histogram


@cached_njit()
def _rules_step(st, n, c, rsi_p, fast, slow, signal, buy_below, sell_above, confirm):  # pragma: no cover
    r = rsi_step(st, n, c, rsi_p)
    hist = macd_step(st, n, c, fast, slow, signal)[2]
    prev = st[_PREV_HIST]
    st[_PREV_HIST] = hist
    buy = r < buy_below  # NaN during warm-up compares False: HOLD
    sell = r > sell_above
    if confirm:
        buy = buy and n > 0 and hist > prev
        sell = sell and n > 0 and hist < prev
    if sell:
        return SELL
    if buy:
        return BUY
    return HOLD


@cached_njit()
def _rules_series(st, close, rsi_p, fast, slow, signal, buy_below, sell_above, confirm, first):  # pragma: no cover
    out = np.empty(close.shape[0], dtype=np.int8)
    for t in range(close.shape[0]):
        out[t] = _rules_step(st, first + t, close[t], rsi_p, fast, slow, signal, buy_below, sell_above, confirm)
    return out


def _new_state() -> np.ndarray:
    return np.full(N_STATE + 1, np.nan)


class RulesStrategy(SignalStrategy):
    name = "rules"

    def __init__(self, trading: TradingConfig) -> None:
        self.trading = trading
        tr = trading
        self._args = (
            int(tr.rsi_period),
            int(tr.macd_fast),
            int(tr.macd_slow),
            int(tr.macd_signal),
            float(tr.rsi_buy_below),
            float(tr.rsi_sell_above),
            bool(tr.macd_confirm),
        )

    def signals(self, close: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        c = np.ascontiguousarray(close, dtype=np.float64)
        return _rules_series(_new_state(), c, *self._args, 0)

    def signal_stream(self) -> RulesStream:
        return RulesStream(self._args)


class RulesStream:
    """The rules one closed bar at a time, O(1) a bar, from the same compiled step as `RulesStrategy.signals`."""

    def __init__(self, args: tuple) -> None:
        self._args = args
        self._st = _new_state()
        self._n = 0

    def warm_up(self, close: np.ndarray, features: np.ndarray | None = None) -> None:
        c = np.ascontiguousarray(close, dtype=np.float64)
        _rules_series(self._st, c, *self._args, self._n)
        self._n += len(c)

    def push(self, close: float, features_row: np.ndarray | None = None) -> int:
        action = _rules_step(self._st, self._n, float(close), *self._args)
        self._n += 1
        return int(action)
