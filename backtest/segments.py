"""How a backtest span is cut into independent segments.

Bars [0, warmup) only warm up indicators and policy state. Trading bars are cut at boundaries
b_0 = warmup, b_1 = b_0 + chunk_size, ..., b_n = T - 1; segment k covers bars [b_k, b_{k+1}] (end exclusive
b_{k+1} + 1). It starts flat at the close of b_k, with fresh sizing statistics and drawdown peak, and closes every
position at the close of b_{k+1}, where the next segment starts. A stateful strategy first runs over the `warmup`
bars before b_k without trading. Segments are grouped into fixed-size tasks, so a task's lockstep batch (and its
numerics) never depends on the number of workers. `chunk_size >= T` gives one continuous run.

A series with breaks (`backtest.gaps`: a closed session, an outage) is cut there as well: each unbroken run of bars
is planned as above on its own, so a segment ends at the last bar before a break and the next starts flat at the
first bar after it; a run of fewer than two trading bars has nothing to trade and gets no segment.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence


def _plan_run(lo: int, hi: int, chunk_size: int) -> list[tuple[int, int]]:
    """Segments over the unbroken bars [lo, hi) (hi - lo >= 2)."""
    bounds = [*range(lo, hi - 1, chunk_size), hi - 1]
    if len(bounds) > 2 and bounds[-1] - bounds[-2] < max(2, chunk_size // 10):
        del bounds[-2]  # fold a tiny tail into the previous segment
    return [(bounds[k], bounds[k + 1] + 1) for k in range(len(bounds) - 1)]


def plan_segments(n_bars: int, chunk_size: int, warmup: int, breaks: Sequence[int] = ()) -> list[tuple[int, int]]:
    """[(start, end_exclusive)] covering bars [warmup, n_bars) as described in the module docstring.

    `breaks` are the indices of the first bar after each break (`backtest.gaps.breaks`); no segment spans one.
    """
    if n_bars - warmup < 2:
        raise ValueError(f"{n_bars} bars leave nothing to trade after a warm-up of {warmup} bars")
    cuts = [warmup, *(int(b) for b in breaks if warmup < int(b) < n_bars), n_bars]
    segments = [seg for a, b in itertools.pairwise(cuts) if b - a >= 2 for seg in _plan_run(a, b, chunk_size)]
    if not segments:
        raise ValueError(f"{n_bars} bars leave no two unbroken bars to trade after a warm-up of {warmup} bars")
    return segments


def group_segments(segments: list[tuple[int, int]], per_task: int) -> list[list[tuple[int, int]]]:
    """Consecutive groups of `per_task` segments: the unit of work handed to a worker."""
    return [segments[i : i + per_task] for i in range(0, len(segments), per_task)]
