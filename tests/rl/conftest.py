"""Small, fast settings shared by the RL tests: 3 days of synthetic bars, a tiny LSTM, short episodes."""

from __future__ import annotations

import pytest

from backtest.config import Params, load_params

TINY = [
    "backtest.days=3",
    "backtest.chunk_size=400",
    "backtest.warmup_bars=20",
    "rl.lstm_hidden=16",
    "rl.fcnet_hiddens=[16]",
    "rl.episode_bars=200",
    "rl.batch_size=4",
    "rl.max_seq_len=8",
    "rl.epochs=2",
]


@pytest.fixture(scope="session")
def tiny_params() -> Params:
    return load_params(overrides=TINY)


@pytest.fixture(scope="session")
def env_config(tiny_params: Params) -> dict:
    return {"params": tiny_params.model_dump(mode="json"), "source": "synthetic", "days": 3.0, "seed": 3}
