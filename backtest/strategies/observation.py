"""The observation a policy sees: causal features at bar t next to the simulator's position state."""

from __future__ import annotations

import numpy as np


def build_observation(features_rows: np.ndarray, position_state: np.ndarray) -> np.ndarray:
    """float32 [..., F + 4]: features at t (already normalised) then `POSITION_STATE_NAMES`."""
    return np.concatenate([features_rows, position_state], axis=-1).astype(np.float32, copy=False)
