"""The rules table: every rounding lands on a valid tick or lot, and it is the nearest one in the asked direction.

Property tests over prices from 0.0001 to 1e6 and every perp `szDecimals` (0..6), hypothesis-derandomized.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backtest.venue import rules
from backtest.venue.errors import ERR_MIN, err_min_value
from backtest.venue.rules import (
    MARKETS,
    MIN_ORDER_VALUE,
    AssetRules,
    asset_id,
    min_price,
    price_decimals,
    price_valid,
    round_price,
    round_size,
    rules_for,
    size_valid,
)

PROPS = settings(max_examples=400, deadline=None, derandomize=True, database=None)
prices = st.floats(min_value=0.0001, max_value=1e6, allow_nan=False, allow_infinity=False)
sizes = st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False)
sz_decimals = st.integers(min_value=0, max_value=rules.PERP_MAX_DECIMALS)
directions = st.sampled_from([None, True, False])


def dec(x: float) -> Decimal:
    return Decimal(repr(x))


def neighbours(px: float, szd: int) -> tuple[Decimal, Decimal]:
    """The valid prices just below and just above a valid price `px` (brute force over the tick around it)."""
    d = dec(px)
    steps = [Decimal(1).scaleb(e) for e in range(-price_decimals(szd), 2)]
    below = max((d - s for s in steps if d - s > 0 and price_valid(d - s, szd)), default=Decimal(0))
    above = min(d + s for s in steps if price_valid(d + s, szd))
    return below, above


@PROPS
@given(prices, sz_decimals, directions)
def test_every_rounded_price_is_on_the_tick(px, szd, up):
    out = round_price(px, szd, up)
    assert price_valid(dec(out), szd), (px, szd, up, out)


@PROPS
@given(prices, sz_decimals, directions)
def test_rounding_goes_the_asked_way_and_no_valid_price_lies_between(px, szd, up):
    out = round_price(px, szd, up)
    if px < min_price(szd) / 2 or (up is False and px < min_price(szd)):
        assert out == min_price(szd)  # below the smallest tick: that tick, never zero
        return
    below, above = neighbours(out, szd)
    x = dec(px)
    if up is True:
        assert dec(out) >= x and below < x
    elif up is False:
        assert dec(out) <= x and above > x
    else:
        assert abs(dec(out) - x) <= abs(below - x) and abs(dec(out) - x) <= abs(above - x)


@PROPS
@given(prices, sz_decimals)
def test_a_valid_price_rounds_to_itself(px, szd):
    out = round_price(px, szd)
    for up in (None, True, False):
        assert round_price(out, szd, up) == out


@PROPS
@given(sizes, sz_decimals)
def test_sizes_round_down_to_the_lot_and_stay_within_one_lot(size, szd):
    out = round_size(size, szd)
    lot = Decimal(1).scaleb(-szd)
    assert dec(out) <= dec(size) < dec(out) + lot
    assert out == 0 or size_valid(dec(out), szd)


def test_integers_are_always_valid_so_123456_7_rounds_to_the_nearest_integer():
    assert round_price(123456.7, 4) == 123457.0
    assert price_valid(Decimal("123457"), 4) and not price_valid(Decimal("123456.7"), 4)
    assert price_valid(Decimal("1234567"), 0)  # seven significant figures, but an integer
    assert round_price(20123.456, 4) == 20123.0 and round_price(1.234567, 4) == 1.23


def test_prices_below_the_smallest_tick_become_the_tick_and_bad_prices_are_refused():
    assert round_price(0.0001, 4) == 0.01 and round_price(0.0001, 4, up=False) == 0.01
    assert round_price(0.4, 6) == 1.0  # szDecimals 6: integer prices only
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            round_price(bad, 4)
    with pytest.raises(ValueError):
        round_size(-0.1, 4)


def test_the_minimum_value_text_is_the_venues_and_reduce_only_is_exempt():
    assert ERR_MIN == "Order must have minimum value of $10." == err_min_value(MIN_ORDER_VALUE)
    xyz = rules_for("xyz:XYZ100")
    assert xyz.meets_minimum(0.0005, 20000) and not xyz.meets_minimum(0.0004, 20000)
    assert xyz.meets_minimum(0.0001, 20000, reduce_only=True)


def test_asset_ids_follow_the_builder_dex_layout():
    assert asset_id(0, 1) == 1 and asset_id(1, 0) == 110000 and asset_id(2, 3) == 120003
    assert MARKETS["xyz:XYZ100"].asset == 110000 and MARKETS["xyz:XYZ100"].dex == "xyz"
    assert isinstance(rules_for("BTC"), AssetRules)
    with pytest.raises(KeyError, match="known"):
        rules_for("DOGE")
