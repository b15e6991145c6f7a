"""Capture ratio, IQM and bootstrap intervals: the figures of the learning benchmark, checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rl.learning_stats import LEARNED_CAPTURE, bootstrap_ci, capture_ratio, iqm, summarise_capture


def test_capture_is_the_share_of_the_oracles_pnl_and_undefined_when_the_oracle_cannot_profit():
    assert capture_ratio(1.5, 3.0) == 0.5
    assert capture_ratio(-1.0, 2.0) == -0.5
    assert math.isnan(capture_ratio(1.0, 0.0))
    assert math.isnan(capture_ratio(1.0, -2.0))
    assert math.isnan(capture_ratio(float("nan"), 2.0))


def test_iqm_is_the_mean_of_the_middle_half_as_rliable_computes_it():
    assert iqm([1, 2, 3, 4]) == 2.5  # cuts one from each end
    assert iqm([0, 1, 2, 3, 100, -100, 5, 6]) == pytest.approx(np.mean([1, 2, 3, 5]))  # outliers gone
    assert iqm([7.0]) == 7.0
    assert math.isnan(iqm([]))
    scipy_stats = pytest.importorskip("scipy.stats")
    x = np.random.default_rng(1).normal(size=37)
    assert iqm(x) == pytest.approx(scipy_stats.trim_mean(x, 0.25))


def test_bootstrap_interval_is_seeded_and_covers_the_statistic():
    x = np.random.default_rng(2).normal(0.4, 0.1, size=10)
    lo, hi = bootstrap_ci(x)
    assert (lo, hi) == bootstrap_ci(x)  # same runs, same interval
    assert lo <= iqm(x) <= hi
    assert hi - lo < 0.3
    assert bootstrap_ci([0.3, 0.3, 0.3]) == (pytest.approx(0.3), pytest.approx(0.3))


def test_summary_counts_learned_seeds_and_skips_undefined_ones():
    s = summarise_capture([0.1, 0.3, 0.5, float("nan"), LEARNED_CAPTURE])
    assert s.n == 4 and s.learned == 2  # strictly above the threshold
    assert s.median == pytest.approx(0.275)
    assert s.text().startswith("28% / ")
    empty = summarise_capture([float("nan")])
    assert empty.n == 0 and empty.text() == "n/a"
