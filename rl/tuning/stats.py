"""Figures that correct for many trials: the probabilistic and deflated Sharpe ratios.

Bailey & López de Prado (2014), "The Deflated Sharpe Ratio". All Sharpe ratios here are PER OBSERVATION (per bar,
not annualised): SR = mean(r) / std(r).

* PSR(SR*) = Phi( (SR - SR*) * sqrt(T - 1) / sqrt(1 - g3 * SR + (g4 - 1) / 4 * SR^2) ), with T observations,
  g3 the skewness and g4 the (non-excess) kurtosis of the returns (3 for a normal distribution).
* Expected maximum Sharpe of N independent trials whose Sharpes have variance V:
  SR0 = sqrt(V) * ((1 - gamma) * Z^-1(1 - 1/N) + gamma * Z^-1(1 - 1/(N e))), gamma = Euler-Mascheroni.
* DSR = PSR(SR0): the probability that the winner's true Sharpe beats what the best of N skill-less trials would show.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

EULER_GAMMA = 0.5772156649015329
_NORMAL = NormalDist()


def return_moments(returns: np.ndarray) -> tuple[float, float, float, int]:
    """(per-observation Sharpe, skewness, non-excess kurtosis, T) of a return series (population moments)."""
    r = np.asarray(returns, dtype=np.float64)
    r = r[np.isfinite(r)]
    n = int(r.size)
    if n < 2:
        return 0.0, 0.0, 3.0, n
    mu, sd = float(r.mean()), float(r.std(ddof=1))
    if sd == 0.0:
        return 0.0, 0.0, 3.0, n
    z = (r - mu) / float(r.std(ddof=0))
    return mu / sd, float(np.mean(z**3)), float(np.mean(z**4)), n


def probabilistic_sharpe(sr: float, sr_star: float, n_obs: int, skew: float, kurt: float) -> float:
    """PSR: probability that the true per-observation Sharpe exceeds `sr_star` given the estimate `sr`."""
    if n_obs < 2:
        return float("nan")
    var = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr
    if var <= 0:
        return float("nan")
    return _NORMAL.cdf((sr - sr_star) * math.sqrt(n_obs - 1) / math.sqrt(var))


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """SR0: the expected maximum of `n_trials` skill-less per-observation Sharpes with variance `sharpe_variance`."""
    if n_trials < 2 or sharpe_variance <= 0:
        return 0.0
    a = _NORMAL.inv_cdf(1.0 - 1.0 / n_trials)
    b = _NORMAL.inv_cdf(1.0 - 1.0 / (n_trials * math.e))
    return math.sqrt(sharpe_variance) * ((1.0 - EULER_GAMMA) * a + EULER_GAMMA * b)


@dataclass(frozen=True)
class DeflatedSharpe:
    """The winner's deflated Sharpe and the inputs that produced it."""

    sharpe: float  # winner, per observation
    n_obs: int
    skew: float
    kurtosis: float
    n_trials: int
    trial_sharpe_var: float  # variance of the trials' per-observation Sharpes
    sr0: float  # expected max Sharpe of n_trials skill-less trials
    psr0: float  # PSR against 0
    dsr: float  # PSR against sr0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def deflated_sharpe(winner_returns: np.ndarray, trial_sharpes: list[float] | np.ndarray) -> DeflatedSharpe:
    """DSR of the winner (its per-bar returns) given the per-observation Sharpes of ALL trials (winner included)."""
    sr, skew, kurt, n = return_moments(winner_returns)
    trials = np.asarray([s for s in trial_sharpes if s is not None and math.isfinite(s)], dtype=np.float64)
    var = float(trials.var(ddof=1)) if trials.size >= 2 else 0.0
    sr0 = expected_max_sharpe(len(trial_sharpes), var)
    return DeflatedSharpe(
        sharpe=sr,
        n_obs=n,
        skew=skew,
        kurtosis=kurt,
        n_trials=len(trial_sharpes),
        trial_sharpe_var=var,
        sr0=sr0,
        psr0=probabilistic_sharpe(sr, 0.0, n, skew, kurt),
        dsr=probabilistic_sharpe(sr, sr0, n, skew, kurt),
    )
