"""Vendor files the tests write: small samples of synthetic NQ-style bars in each layout."""

from __future__ import annotations

import pytest

from backtest.data.store import BarStore


@pytest.fixture
def store(tmp_path) -> BarStore:
    return BarStore(tmp_path / "store")
