"""Deflated Sharpe ratio against numbers worked out by hand (Bailey & López de Prado 2014)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rl.tuning.stats import deflated_sharpe, expected_max_sharpe, probabilistic_sharpe, return_moments


def test_expected_max_sharpe_by_hand():
    # N = 20 trials, trial Sharpe variance V = 0.0004 (sd 0.02).
    # Z^-1(1 - 1/20) = Z^-1(0.95) = 1.6448536; Z^-1(1 - 1/(20 e)) = Z^-1(0.9816060) = 2.0881097
    # SR0 = 0.02 * ((1 - 0.5772157) * 1.6448536 + 0.5772157 * 2.0881097) = 0.0380142
    assert expected_max_sharpe(20, 0.0004) == pytest.approx(0.0380142, abs=1e-6)
    assert expected_max_sharpe(1, 0.0004) == 0.0  # one trial: nothing to deflate


def test_probabilistic_sharpe_by_hand():
    # SR = 0.05 per bar, T = 1000, skew = -0.5, kurtosis = 5
    # denominator = sqrt(1 - (-0.5)(0.05) + (5 - 1)/4 * 0.05^2) = sqrt(1.0275) = 1.0136567
    # against SR* = 0: z = 0.05 * sqrt(999) / 1.0136567 = 1.5590564 -> Phi = 0.9405085
    # against SR0 = 0.0380142: z = (0.05 - 0.0380142) * sqrt(999) / 1.0136567 = 0.3737320 -> Phi = 0.6456982
    assert probabilistic_sharpe(0.05, 0.0, 1000, -0.5, 5.0) == pytest.approx(0.9405085, abs=1e-6)
    assert probabilistic_sharpe(0.05, 0.0380142, 1000, -0.5, 5.0) == pytest.approx(0.6456982, abs=1e-5)


def test_moments_by_hand():
    # r = [0.01, -0.01, 0.02, 0.0]: mean 0.005, sample sd sqrt(0.0005 / 3) = 0.0129099 -> SR = 0.3872983
    # standardised (population sd 0.0111803): z = [0.4472, -1.3416, 1.3416, -0.4472]
    # skew = mean(z^3) = 0; kurtosis = mean(z^4) = (0.04 + 3.24 + 3.24 + 0.04) / 4 = 1.64
    sr, skew, kurt, n = return_moments(np.array([0.01, -0.01, 0.02, 0.0]))
    assert n == 4
    assert sr == pytest.approx(0.3872983, abs=1e-6)
    assert skew == pytest.approx(0.0, abs=1e-9)
    assert kurt == pytest.approx(1.64, abs=1e-9)


def test_deflated_sharpe_combines_the_pieces():
    r = np.array([0.01, -0.01, 0.02, 0.0])
    trials = [0.3872983, 0.1, -0.2, 0.05]  # variance (ddof 1) of these four = 0.0580191
    out = deflated_sharpe(r, trials)
    var = float(np.var(trials, ddof=1))
    assert out.trial_sharpe_var == pytest.approx(var)
    assert out.sr0 == pytest.approx(expected_max_sharpe(4, var))
    # by hand: SR0 = sqrt(0.0580191) * ((1-g) Z^-1(0.75) + g Z^-1(1 - 1/(4e))) = 0.240872 * (0.285164 + 0.766959)
    assert out.sr0 == pytest.approx(math.sqrt(0.0580191) * (0.4227843 * 0.6744898 + 0.5772157 * 1.3287219), abs=1e-4)
    assert out.dsr < out.psr0  # deflating for trials can only lower the probability
    assert 0.0 <= out.dsr <= 1.0
