"""The futures-to-spot conversion: expiries, the roll rule, contract codes, symbol kinds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest.data.vendor.transform import (
    Transform,
    contract_expiry_ms,
    expiry_ms,
    front_expiry_ms,
    symbol_kind,
    third_friday,
)


def _ms(text: str) -> int:
    return pd.Timestamp(text, tz="UTC").value // 1_000_000


def test_expiry_is_the_third_friday_at_the_opening_quotation():
    assert str(third_friday(2024, 3)) == "2024-03-15" and str(third_friday(2024, 12)) == "2024-12-20"
    assert expiry_ms(2024, 3) == _ms("2024-03-15 13:30")  # 09:30 EDT
    assert expiry_ms(2024, 12) == _ms("2024-12-20 14:30")  # 09:30 EST


def test_the_front_month_rolls_eight_days_before_expiry():
    ts = np.array([_ms("2024-03-07 12:00"), _ms("2024-03-07 14:00"), _ms("2024-12-31")], dtype=np.int64)
    # 2024-03-15 13:30 expiry - 8 days = 2024-03-07 13:30: before it the March contract, after it June
    assert front_expiry_ms(ts, 8).tolist() == [expiry_ms(2024, 3), expiry_ms(2024, 6), expiry_ms(2025, 3)]


def test_contract_codes_give_each_row_its_own_expiry_and_other_symbols_none():
    ts = np.array([_ms("2024-03-01"), _ms("2024-03-01"), _ms("2029-11-01")], dtype=np.int64)
    codes = pd.Series(["NQH4", "NQ M24", "NQH0"])
    assert contract_expiry_ms(codes, ts).tolist() == [expiry_ms(2024, 3), expiry_ms(2024, 6), expiry_ms(2030, 3)]
    assert contract_expiry_ms(pd.Series(["NQ.c.0"] * 3), ts) is None


@pytest.mark.parametrize(
    "symbol,kind",
    [
        ("NQ", "futures"),
        ("nq.c.0", "futures"),
        ("NQH4", "futures"),
        ("MNQ", "futures"),
        ("NQ1!", "futures"),
        ("NQ=F", "futures"),
        ("NDX", "index"),
        ("^NDX", "index"),
        ("QQQ", "other"),
    ],
)
def test_symbol_kinds(symbol, kind):
    assert symbol_kind(symbol) == kind


def test_carry_factor_shrinks_to_one_at_expiry_and_round_trips_through_a_dict():
    t = Transform("NQ", "xyz:XYZ100", "futures", ratio=1.0, r_minus_q=0.04, roll_days=8)
    exp = expiry_ms(2024, 6)
    ts = np.array([exp - 91 * 86_400_000, exp], dtype=np.int64)
    f = t.factor(ts, np.array([exp, exp]))
    assert f[0] == pytest.approx(np.exp(-0.04 * 91 / 365)) and f[1] == 1.0
    assert Transform.from_dict(t.to_dict()) == t
    assert Transform("NDX", "xyz:XYZ100", "index", ratio=2.0).factor(ts).tolist() == [2.0, 2.0]
