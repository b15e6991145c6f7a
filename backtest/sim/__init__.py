"""The one trading simulator. See docs/ARCHITECTURE.md for its exact semantics."""

from backtest.sim.engine import POSITION_STATE_NAMES, BatchSimulator, SegmentRun, Simulator, StepEvent, run_signals
from backtest.sim.kernel import BUY, HOLD, SELL
from backtest.sim.market import Market
from backtest.sim.merge import merge_runs
from backtest.sim.params import SimParams
from backtest.sim.result import BacktestResult

__all__ = [
    "BUY",
    "HOLD",
    "POSITION_STATE_NAMES",
    "SELL",
    "BacktestResult",
    "BatchSimulator",
    "Market",
    "SegmentRun",
    "SimParams",
    "Simulator",
    "StepEvent",
    "merge_runs",
    "run_signals",
]
