"""The simulator's deterministic draws: counter-based, so a bar's draw is the same however the span is split."""

from __future__ import annotations

import numpy as np

from backtest.jit import kernel_jit


@kernel_jit(inline="always")
def uniform01(seed: int, bar: int, stream: int) -> float:
    """A uniform draw in [0, 1) from a splitmix64 hash of (seed, bar, stream): counter-based, so the draw for a bar
    is the same however the span is cut into segments or workers. Stream 0 is the latency; 1.. the touch fills."""
    z = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(bar) + np.uint64(0x632BE59BD9B4E019)
    z = z + np.uint64(stream) * np.uint64(0xD1B54A32D192ED03)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return float(z >> np.uint64(11)) / 9007199254740992.0


@kernel_jit(inline="always")
def latency_ms(seed: int, bar: int, lo: float, hi: float) -> float:
    """Latency for a fill in `bar`: uniform in [lo, hi] from the counter-based hash of (seed, bar)."""
    return lo + (hi - lo) * uniform01(seed, bar, 0)


@kernel_jit(inline="always")
def touch_fill(side, px, h, lw, seed, bar, stream, prob):
    """A bar that only touches the limit (its low equals a buy's price) fills it with probability `prob`."""
    if prob <= 0.0:
        return False
    touched = lw == px if side > 0 else h == px
    return touched and uniform01(seed, bar, stream) < prob
