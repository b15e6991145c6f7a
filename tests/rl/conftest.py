"""Small, fast settings shared by the RL tests: 3 days of synthetic bars, a tiny LSTM, short episodes."""

from __future__ import annotations

import pytest

from backtest.config import Params, load_params
from tests.support.rl import TINY


@pytest.fixture(scope="session")
def tiny_params() -> Params:
    return load_params(overrides=TINY)


@pytest.fixture(scope="session")
def env_config(tiny_params: Params) -> dict:
    return {"params": tiny_params.model_dump(mode="json"), "source": "synthetic", "days": 3.0, "seed": 3}
