"""`make setup`'s compile warm-up reaches the kernels Ray workers run, whose inputs arrive read-only."""

from __future__ import annotations

import numpy as np

from backtest.config import load_objectives, load_params
from backtest.runner import SegmentRunner, plan
from rl.data import prepare
from rl.warm import SETS, as_ray_worker_sees


def test_a_runner_through_the_object_store_round_trip_has_read_only_arrays_and_runs_the_same():
    params = load_params(overrides=SETS)
    prepared = prepare(params, "synthetic", 2.0)
    runner = SegmentRunner("rules", params, load_objectives(), prepared.market, prepared.raw_features)
    seen = as_ray_worker_sees(runner)
    assert not seen.market.close.flags.writeable and not seen.signals.flags.writeable
    task = plan(prepared.market, params).tasks[0]
    for a, b in zip(runner.run(task), seen.run(task)):
        np.testing.assert_array_equal(a.equity, b.equity)
        np.testing.assert_array_equal(a.trades, b.trades)
