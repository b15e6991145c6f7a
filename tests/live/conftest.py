"""Paper-exchange fixtures: a throwaway wallet and a funded manual-clock server."""

from __future__ import annotations

import pytest
from eth_account import Account

from tests.live.paper_helpers import random_walk_bars, start


@pytest.fixture
def wallet():
    return Account.create()


@pytest.fixture
def server(wallet):
    h = start(random_walk_bars(3000, seed=3), fund=((wallet.address.lower(), 100_000.0),))
    yield h
    h.stop()
