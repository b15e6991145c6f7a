"""The RSI/MACD rule strategy from the configs.

At the close of bar t: BUY when RSI(t) < `rsi_buy_below`, SELL when RSI(t) > `rsi_sell_above`, else HOLD. With
`macd_confirm`, a BUY also needs the MACD histogram to be rising (hist[t] > hist[t-1]: momentum turning up out of the
oversold zone) and a SELL needs it falling. Everything uses closes up to t, so the rule is causal.
"""

from __future__ import annotations

import numpy as np

from backtest.config import TradingConfig
from backtest.features import macd, rsi
from backtest.strategies.base import BUY, HOLD, SELL, SignalStrategy


class RulesStrategy(SignalStrategy):
    name = "rules"

    def __init__(self, trading: TradingConfig) -> None:
        self.trading = trading

    def signals(self, bars_close: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        tr = self.trading
        r = rsi(bars_close, tr.rsi_period)
        buy = r < tr.rsi_buy_below
        sell = r > tr.rsi_sell_above
        if tr.macd_confirm:
            _, _, hist = macd(bars_close, tr.macd_fast, tr.macd_slow, tr.macd_signal)
            rising = np.zeros(len(hist), dtype=bool)
            rising[1:] = hist[1:] > hist[:-1]
            falling = np.zeros(len(hist), dtype=bool)
            falling[1:] = hist[1:] < hist[:-1]
            buy &= rising
            sell &= falling
        out = np.full(len(bars_close), HOLD, dtype=np.int8)
        out[buy] = BUY
        out[sell] = SELL
        return out  # NaN comparisons are False, so warm-up bars HOLD
