"""The paper exchange's rounding and validation are the venue's rules table (`backtest.venue.rules`), held against
it over prices from 0.0001 to 1e6 and sizes at every `szDecimals` (hypothesis, derandomized).

Every path: an order's price, trigger and size checks (tick, lot, $10 minimum, oracle band, in the engine's order),
what the live trader sends (the table's rounding through the SDK's wire format) is always accepted, the book's
levels and every price the wire writes are on the tick, fees are the venue's formula, and the venue's error texts.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hyperliquid.utils.signing import float_to_wire
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from backtest.venue import errors, rules
from backtest.venue.fees import BASE_TIERS, MarketFees
from live.paper_exchange.config import MarketSpec, PaperExchangeConfig
from live.paper_exchange.markets import fmt_px, parse_decimal
from live.paper_exchange.orders import OrderRequest
from live.paper_exchange.server import PaperExchange
from tests.support.paper_exchange import random_walk_bars

PROPS = settings(max_examples=300, deadline=None, derandomize=True, database=None)
USER = "0x" + "11" * 20
SZ_DECIMALS = range(0, rules.PERP_MAX_DECIMALS)  # perps: 0..5 (6 would leave integer prices only)
REF_PRICES = (0.0002, 0.05, 3.0, 700.0, 20_000.0, 900_000.0)  # marks across 0.0001 .. 1e6


@pytest.fixture(scope="module")
def px():
    """An in-process exchange (no server) with a market per (szDecimals, price magnitude) on the main dex, and one
    builder-dex market, so fees of both kinds are charged."""
    specs = [MarketSpec(f"T{d}_{i}", "", d, 20, ref) for d in SZ_DECIMALS for i, ref in enumerate(REF_PRICES)]
    specs.append(MarketSpec("xyz:XYZ100", "xyz", 4, 20, None))
    ex = PaperExchange(PaperExchangeConfig(port=0, speed=0.0, history_bars=10, markets=tuple(specs)),
                       bars=random_walk_bars(50))  # fmt: skip
    ex.engine.fund(USER, 1e12)
    return ex


markets = st.sampled_from([f"T{d}_{i}" for d in SZ_DECIMALS for i in range(len(REF_PRICES))])
factors = st.floats(min_value=0.05, max_value=2.5, allow_nan=False)
sizes = st.floats(min_value=0.0, max_value=1e5, allow_nan=False)
wire_prices = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(10**6), places=8, allow_nan=False)


def expected(px: Decimal, sz: Decimal, mark: float, m, reduce_only: bool = False) -> str | None:
    """The table's verdict, checks in the engine's order."""
    if not rules.price_valid(px, m.sz_decimals):
        return errors.ERR_TICK
    if not rules.size_valid(sz, m.sz_decimals):
        return errors.ERR_SIZE
    if not rules.within_oracle_band(float(px), mark):
        return errors.ERR_ORACLE
    if not rules.meets_minimum(float(sz), mark, reduce_only):
        return errors.ERR_MIN
    return None


def order_error(px, name: str, p: Decimal, sz: Decimal, reduce_only: bool = False, trigger: Decimal | None = None):
    m = px.universe.by_name[name]
    req = OrderRequest(m.asset, True, p, sz, reduce_only, tif=None if trigger else "Gtc", trigger_px=trigger,
                       tpsl="sl" if trigger else None)  # fmt: skip
    return px.engine.matcher._order_from(USER, req, position_tpsl=False)[1]


@PROPS
@given(markets, factors, sizes, st.booleans())
def test_the_engine_refuses_exactly_what_the_table_refuses(px, name, factor, size, reduce_only):
    m = px.universe.by_name[name]
    mark = px.engine.mark(name)
    p = Decimal(repr(mark * factor)).quantize(Decimal("1e-8"))  # any price, on the tick or not
    sz = Decimal(repr(size)).quantize(Decimal("1e-7"))
    if p <= 0:
        return
    assert order_error(px, name, p, sz, reduce_only) == expected(p, sz, mark, m, reduce_only)


@PROPS
@given(markets, wire_prices)
def test_any_wire_price_is_on_the_tick_exactly_when_the_table_says(px, name, p):
    m = px.universe.by_name[name]
    got = order_error(px, name, p, Decimal(1))
    assert (got == errors.ERR_TICK) == (not rules.price_valid(p, m.sz_decimals))
    assert parse_decimal(str(p)) == p


@PROPS
@given(markets, factors, sizes, st.sampled_from([None, True, False]))
def test_what_the_trader_sends_is_accepted_the_tables_rounding_through_the_sdks_wire(px, name, factor, size, up):
    """The live trader rounds with the table (`AssetRules.round_price` / `round_size`) and the SDK writes floats with
    `float_to_wire`: the exchange never refuses such a price or size for its tick or lot."""
    m = px.universe.by_name[name]
    mark = px.engine.mark(name)
    price = rules.round_price(mark * factor, m.sz_decimals, up)
    sz = rules.round_size(size, m.sz_decimals)
    wire_px, wire_sz = Decimal(float_to_wire(price)), Decimal(float_to_wire(sz))
    assert rules.price_valid(wire_px, m.sz_decimals)
    err = order_error(px, name, wire_px, wire_sz)
    assert err not in (errors.ERR_TICK,) and (sz == 0 or err != errors.ERR_SIZE)
    trig = order_error(px, name, wire_px, Decimal(1), reduce_only=True, trigger=wire_px)
    assert trig not in (errors.ERR_TICK, errors.ERR_TPSL)


@PROPS
@given(markets, st.floats(min_value=0.3, max_value=1.7))  # inside the oracle band: only the tick decides
def test_trigger_prices_follow_the_same_tick_rule(px, name, factor):
    m = px.universe.by_name[name]
    mark = px.engine.mark(name)
    on = Decimal(float_to_wire(rules.round_price(mark * factor, m.sz_decimals)))
    off = on + Decimal(1).scaleb(-rules.price_decimals(m.sz_decimals) - 1)  # one decimal too many
    assume(rules.within_oracle_band(float(on), mark) and rules.within_oracle_band(float(off), mark))  # a tick > mark
    assert order_error(px, name, on, Decimal(1), True, trigger=on) != errors.ERR_TPSL
    if not rules.price_valid(off, m.sz_decimals):
        assert order_error(px, name, on, Decimal(1), True, trigger=off) == errors.ERR_TPSL


@PROPS
@given(markets, st.floats(min_value=0.0001, max_value=1e6, allow_nan=False))
def test_the_book_and_every_price_the_wire_writes_are_on_the_tick(px, name, mid):
    m = px.universe.by_name[name]
    bids, asks = px.engine.book(m, mid)
    for level_px, _ in (*bids, *asks):
        assert rules.price_valid(Decimal(repr(level_px)), m.sz_decimals)
    text = fmt_px(mid, m)
    assert rules.price_valid(Decimal(text), m.sz_decimals)
    assert float(text) == rules.round_price(mid, m.sz_decimals)


def test_one_rounding_123456_7_is_123457_everywhere(px):
    m = px.universe.by_name["T4_5"]
    assert rules.round_price(123456.7, 4) == 123457.0 == float(fmt_px(123456.7, m))


def test_fees_are_the_venues_formula_on_both_kinds_of_market(px):
    eng = px.engine.pricing
    tier0 = BASE_TIERS[0]
    assert eng.base_rates == (tier0.taker, tier0.maker)
    main, xyz = px.universe.by_name["T4_4"], px.universe.by_name["xyz:XYZ100"]
    assert eng.fee_rate(main, maker=False) == tier0.taker and eng.fee_rate(main, maker=True) == tier0.maker
    assert (eng.fee_rate(xyz, False), eng.fee_rate(xyz, True)) == MarketFees("xyz:XYZ100", True).rates(
        tier0.taker, tier0.maker
    )
    assert eng.fee_rate(xyz, False) == pytest.approx(0.0009) and eng.fee_rate(xyz, True) == pytest.approx(0.0003)
