"""Fixtures for the data-layer tests: small synthetic bar frames and a params object pointing at a temp store."""

from __future__ import annotations

import pandas as pd
import pytest

from backtest.config import with_overrides
from backtest.data.synth import generate_bars


@pytest.fixture
def small_bars(params) -> pd.DataFrame:
    return generate_bars(3 * 1440, params.synth, start=pd.Timestamp("2026-02-01", tz="UTC"))


@pytest.fixture
def tmp_params(params, tmp_path):
    return with_overrides(params, [f"backtest.data_dir={tmp_path / 'store'}"])
