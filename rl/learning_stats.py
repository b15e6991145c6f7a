"""Figures for "does learning work, and how often": capture ratio against the oracle, IQM and bootstrap CIs.

- capture ratio = a policy's test PnL / the oracle's test PnL on the same span (same costs, execution, simulator).
  Undefined (NaN) when the oracle itself does not make money: then there is no edge to capture under those costs.
- A seed *learned* when its capture exceeds LEARNED_CAPTURE (25 %).
- Aggregates over seeds follow Agarwal et al. 2021 ("Deep RL at the edge of the statistical precipice", the rliable
  library): the median, the interquartile mean (IQM: the mean of the middle 50 % of runs, robust to a few outliers
  yet less noisy than the median) and a percentile bootstrap confidence interval over runs (seeded, so the printed
  interval is the same every time for the same runs).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

LEARNED_CAPTURE = 0.25  # a seed "learned" when it captures more than this share of the oracle's PnL
BOOTSTRAP_SAMPLES = 2000
CONFIDENCE = 0.95


def capture_ratio(policy_pnl: float, oracle_pnl: float) -> float:
    """`policy_pnl / oracle_pnl`, or NaN when the oracle does not profit (nothing to capture)."""
    if not math.isfinite(oracle_pnl) or oracle_pnl <= 0.0 or not math.isfinite(policy_pnl):
        return math.nan
    return float(policy_pnl / oracle_pnl)


def iqm(values: Sequence[float] | np.ndarray) -> float:
    """Interquartile mean: the mean of the middle 50 % (rliable's definition: scipy.stats.trim_mean(x, 0.25)).

    With n values, int(0.25 n) are cut from each end; NaN for no values.
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = len(x)
    if n == 0:
        return math.nan
    cut = int(0.25 * n)
    return float(x[cut : n - cut].mean())


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    statistic: Callable[[np.ndarray], float] = iqm,
    samples: int = BOOTSTRAP_SAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of `statistic` over runs (resampled with replacement, seeded)."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(samples, len(x)))
    stats = np.array([statistic(x[row]) for row in idx])
    tail = (1.0 - confidence) / 2.0 * 100.0
    lo, hi = np.percentile(stats, [tail, 100.0 - tail])
    return float(lo), float(hi)


@dataclass(frozen=True)
class CaptureSummary:
    """Capture over the seeds of one (data, algorithm) cell."""

    n: int  # seeds with a defined capture
    learned: int  # seeds with capture > LEARNED_CAPTURE
    median: float
    iqm: float
    ci: tuple[float, float]

    def text(self) -> str:
        """`median / IQM [lo, hi]` in percent."""
        if self.n == 0:
            return "n/a"
        return f"{self.median:.0%} / {self.iqm:.0%} [{self.ci[0]:.0%}, {self.ci[1]:.0%}]"


def summarise_capture(captures: Sequence[float], seed: int = 0) -> CaptureSummary:
    """Learned count, median, IQM and its bootstrap CI of the defined captures (NaNs are left out)."""
    x = np.asarray([c for c in captures if c == c], dtype=np.float64)
    if len(x) == 0:
        return CaptureSummary(0, 0, math.nan, math.nan, (math.nan, math.nan))
    return CaptureSummary(
        n=len(x),
        learned=int(np.sum(x > LEARNED_CAPTURE)),
        median=float(np.median(x)),
        iqm=iqm(x),
        ci=bootstrap_ci(x, iqm, seed=seed),
    )
