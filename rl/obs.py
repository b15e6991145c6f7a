"""Observation side of the env ("state interpreter"): normalised causal features at t + simulator position state.

Training (rl/env.py) and backtests (rl/policy.py) both call `normalise_features` with the training-span statistics
stored in the checkpoint and then the shared `backtest.strategies.observation.build_observation`, so a policy sees
byte-identical inputs in both places.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def normalise_features(raw: np.ndarray, norm: Any) -> np.ndarray:
    """float32 [T, F]: `norm.apply(raw)` (standardised, NaN -> 0, clipped to +/- NORM_CLIP)."""
    return norm.apply(np.asarray(raw, dtype=np.float32))


def observation(features: np.ndarray, bars: np.ndarray | int, position_state: np.ndarray) -> np.ndarray:
    """float32 observation(s) for bar(s) `bars` from prepared features and position state [4] or [B, 4]."""
    from backtest.strategies.observation import build_observation

    return build_observation(features[bars], position_state)
