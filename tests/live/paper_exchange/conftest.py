"""Paper-exchange fixtures: a throwaway wallet and a funded manual-clock server."""

from __future__ import annotations

import pytest
from eth_account import Account

from tests.support.paper_exchange import STARTED, random_walk_bars, start


@pytest.fixture(autouse=True)
def invariants_hold():
    """Every paper exchange a test started kept its invariants after every action and step."""
    STARTED.clear()
    yield
    broken = [(h.url, v) for h in STARTED for v in h.exchange.invariant_violations]
    for h in STARTED:
        h.stop()
    STARTED.clear()
    assert not broken, f"invariants broken: {broken[:5]}"


@pytest.fixture
def wallet():
    return Account.create()


@pytest.fixture
def server(wallet):
    h = start(random_walk_bars(3000, seed=3), fund=((wallet.address.lower(), 100_000.0),))
    yield h
    h.stop()
