"""The runner's lockstep loop for trained policies, compiled: LSTM forward, decision, vote and simulator step fused.

`backtest.runner.run_policy` steps any `PolicyStrategy` bar by bar from Python: position state, observation,
`act`, `BatchSimulator.step`. For the trained policies and their ensemble that loop costs more than the network:
per bar a few Python calls (~50 us) whatever the batch. `run_lockstep` does the very same steps inside one numba
function, calling the simulator's own kernels (`step_batch`, `batch_position_state`) and the compiled network of
rl/netkernel.py, so its results are identical to the Python loop's (`tests/rl/test_lockstep.py`) and to the
bar-by-bar live path's.

What it reproduces (see `backtest.runner.run_policy`):
1. recurrent state reset, then `warm` warm-up steps on the bars before each segment with a flat position state;
2. until every segment is done: position state at the close, observation = features at min(t, last bar) + position
   state (finished segments keep being evaluated, their actions ignored, as in the Python loop), every member's
   forward pass and greedy decision, the vote (ensembles) or the single member's action, one `step_batch`.
"""

from __future__ import annotations

import numpy as np

from backtest.config import objectives_model, params_model
from backtest.jit import cached_njit
from backtest.sim import kernel as K
from backtest.sim import layout as L
from backtest.sim.engine import BatchSimulator, SegmentRun
from backtest.sim.market import Market
from backtest.sim.params import SimParams
from backtest.venue.fees import default_schedule
from rl import netkernel as nk
from rl.inference import Packed, limit_blas_threads, rows_for

SINGLE, VOTE = 0, 1


@cached_njit()  # default flags: numba passes fastmath on to callees, and the simulator kernel must not get it
def _observe(features, bars, col, width, pos, obs):  # pragma: no cover - compiled
    """obs [R, width + 4] = features[bars[r], col:col + width] then the position state (rows past B repeat row 0)."""
    rows = obs.shape[0]
    batch = bars.shape[0]
    for r in range(rows):
        b = r if r < batch else 0
        f = features[bars[b]]
        for j in range(width):
            obs[r, j] = f[col + j]
        for j in range(L.N_POSITION_STATE):
            obs[r, width + j] = np.float32(pos[b, j])


@cached_njit()  # default flags: numba passes fastmath on to callees, and the simulator kernel must not get it
def _forward_all(
    buf, layers, members, min_q, features, bars, pos, state, scratch, obs_flat, scores, acts, margins
):  # pragma: no cover - compiled
    """Every member's forward pass and decision for the observation rows of bars `bars`."""
    for m in range(members.shape[0]):
        col = members[m, nk.MT_COL]
        width = members[m, nk.MT_WIDTH]
        rows = scores.shape[0]
        d = width + L.N_POSITION_STATE
        obs = obs_flat[: rows * d].reshape((rows, d))
        _observe(features, bars, col, width, pos, obs)
        nk.member_forward(buf, layers, members[m, nk.MT_FIRST], members[m, nk.MT_COUNT], obs, state, scratch, scores)
        nk.decide(members[m, nk.MT_KIND], scores, min_q[m], acts[m], margins[m])


@cached_njit()  # default flags: numba passes fastmath on to callees, and the simulator kernel must not get it
def lockstep_kernel(
    buf, layers, members, min_q, mode, threshold, tie_break, fallback_col,
    features, starts, warm, accts, slots, trades, ts, op, hi, lo, cl, atr, funding, tick, opens, p, eq, posq, act,
    state, scratch, n_actions,
):  # pragma: no cover - compiled  # fmt: skip
    batch = starts.shape[0]
    rows = max(batch, nk.MIN_ROWS)
    n_members = members.shape[0]
    last = cl.shape[0] - 1
    width_max = 0
    for m in range(n_members):
        width_max = max(width_max, members[m, nk.MT_WIDTH] + L.N_POSITION_STATE)
    obs_flat = np.zeros(rows * width_max, dtype=np.float32)
    scores = np.zeros((rows, n_actions), dtype=np.float32)
    acts = np.zeros((n_members, rows), dtype=np.int8)
    margins = np.zeros((n_members, rows), dtype=np.float32)
    pos = np.zeros((batch, L.N_POSITION_STATE))
    bars = np.zeros(batch, dtype=np.int64)
    actions = np.zeros(batch, dtype=np.int64)
    fallback = np.zeros(batch, dtype=np.int8)
    voted = np.zeros(batch, dtype=np.int8)
    for j in range(warm):
        for b in range(batch):
            bars[b] = starts[b] - warm + j
        _forward_all(buf, layers, members, min_q, features, bars, pos, state, scratch, obs_flat, scores, acts, margins)
    while True:
        active = False
        for b in range(batch):
            t = int(accts[b, L.A_T])
            bars[b] = min(t, last)
            if t < int(accts[b, L.A_END]) - 1:
                active = True
        if not active:
            break
        K.batch_position_state(accts, slots, cl, p.bar_ms, pos)
        _forward_all(buf, layers, members, min_q, features, bars, pos, state, scratch, obs_flat, scores, acts, margins)
        if mode == SINGLE:
            for b in range(batch):
                actions[b] = acts[0, b]
        else:
            for b in range(batch):
                fallback[b] = nk.HOLD if fallback_col < 0 else np.int8(features[bars[b], fallback_col])
            nk.vote(acts[:, :batch], margins[:, :batch], threshold, fallback, tie_break, voted)
            for b in range(batch):
                actions[b] = voted[b]
        K.step_batch(accts, slots, trades, ts, op, hi, lo, cl, atr, funding, tick, opens, actions, p, eq, posq, act)


def run_lockstep(
    packed: Packed,
    market: Market,
    features: np.ndarray,
    params: SimParams,
    segments: list[tuple[int, int]],
    warmup: int,
    peaks: list[float] | None = None,
    vote: tuple[float, int, int] | None = None,
) -> list[SegmentRun]:
    """`backtest.runner.run_policy` for packed members: one member alone (`vote` None), or their vote with
    (threshold, tie_break code, fallback column or -1). `features` holds every member's columns side by side."""
    starts = np.array([s for s, _ in segments], dtype=np.int64)
    ends = np.array([e for _, e in segments], dtype=np.int64)
    batch = BatchSimulator(market, params, starts, ends, None if peaks is None else np.asarray(peaks, dtype=float))
    warm = min(int(warmup), int(starts.min()))
    limit_blas_threads()
    mode, (threshold, tie_break, fallback_col) = (SINGLE, (0.0, 0, -1)) if vote is None else (VOTE, vote)
    accts, slots, trades, *market_arrays = batch.kernel_state()
    lockstep_kernel(
        *map(_readonly, (packed.buf, packed.layers, packed.members, packed.min_q_diff)), mode, float(threshold),
        int(tie_break), int(fallback_col), _readonly(np.ascontiguousarray(features, dtype=np.float32)), starts, warm,
        accts, slots, trades, *map(_readonly, market_arrays), params, *batch.kernel_outputs(),
        packed.new_state(rows_for(len(segments))), packed.scratch(), packed.n_actions,
    )  # fmt: skip
    return batch.runs()


def _readonly(a: np.ndarray) -> np.ndarray:
    """A read-only view. Arrays that come through Ray's object store are read-only, and numba compiles (and caches)
    one kernel per argument type: passing every input read-only keeps that to one compilation (~30 s once)."""
    view = a.view()
    view.flags.writeable = False
    return view


def warm(packed: Packed, vote: tuple[float, int, int] | None = None) -> None:
    """Load (or compile) `lockstep_kernel` and everything it calls, with the argument types of a real backtest, on a
    60-bar flat market: a Ray worker does this while the driver loads data, not on its first task."""
    n, width = 60, int(packed.members[:, nk.MT_WIDTH].sum()) + (0 if vote is None else 1)
    flat = np.full(n, 100.0)
    market = Market(np.arange(n, dtype=np.int64) * 60_000, flat, flat, flat, flat, np.zeros(n), np.zeros(n), 60)
    defaults = params_model()()  # the schema's defaults: real types; fees only need their types here (no disk read)
    params = SimParams.from_config(defaults, objectives_model()(), default_schedule(defaults.market.coin))
    run_lockstep(packed, market, np.zeros((n, width), np.float32), params, [(20, 40), (39, n)], 20, None, vote)
