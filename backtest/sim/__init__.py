"""The one trading simulator. See docs/ARCHITECTURE.md for its exact semantics."""

from backtest.sim.engine import (
    POSITION_STATE_DIM,
    POSITION_STATE_NAMES,
    BatchSimulator,
    SegmentRun,
    Simulator,
    StepEvent,
    position_state_of,
    run_signals,
)
from backtest.sim.layout import ACTION_NAMES, BUY, HOLD, SELL
from backtest.sim.market import Market
from backtest.sim.merge import merge_runs
from backtest.sim.params import SimParams
from backtest.sim.result import BacktestResult
from backtest.sim.rules import action_orders, exit_levels, halt_fires, size_fraction

__all__ = [
    "ACTION_NAMES",
    "BUY",
    "HOLD",
    "POSITION_STATE_DIM",
    "POSITION_STATE_NAMES",
    "SELL",
    "BacktestResult",
    "BatchSimulator",
    "Market",
    "SegmentRun",
    "SimParams",
    "Simulator",
    "StepEvent",
    "action_orders",
    "exit_levels",
    "halt_fires",
    "merge_runs",
    "position_state_of",
    "run_signals",
    "size_fraction",
]
