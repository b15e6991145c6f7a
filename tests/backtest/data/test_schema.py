from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest.data.schema import BAR_COLUMNS, DataError, empty_bars, find_gaps, merge_bars, validate_bars


def test_synthetic_bars_have_the_schema_dtypes(small_bars):
    assert tuple(small_bars.columns) == BAR_COLUMNS
    assert str(small_bars["timestamp"].dtype) == "datetime64[ms, UTC]"
    assert small_bars["trades"].dtype == np.int64
    for col in ("open", "high", "low", "close", "volume"):
        assert small_bars[col].dtype == np.float64
    assert validate_bars(small_bars) is small_bars
    assert tuple(empty_bars().columns) == BAR_COLUMNS


def test_high_below_close_is_named_with_row_and_timestamp(small_bars):
    bad = small_bars.copy()
    bad.loc[17, "high"] = bad.loc[17, "close"] * 0.99
    with pytest.raises(DataError) as err:
        validate_bars(bad, name="file.parquet")
    msg = str(err.value)
    assert "file.parquet" in msg and "row 17" in msg and str(bad["timestamp"].iloc[17]) in msg and "high" in msg


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda df: df.__setitem__("close", df["close"].where(df.index != 5, np.nan)), "row 5"),
        (lambda df: df.__setitem__("low", df["low"].where(df.index != 9, -1.0)), "row 9"),
        (lambda df: df.__setitem__("source", df["source"].where(df.index != 3, "made-up")), "row 3"),
    ],
)
def test_nan_negative_and_unknown_source_rows_are_rejected(small_bars, mutate, needle):
    bad = small_bars.copy()
    mutate(bad)
    with pytest.raises(DataError, match=needle):
        validate_bars(bad)


def test_duplicate_and_unsorted_timestamps_are_rejected(small_bars):
    dup = pd.concat([small_bars.iloc[:10], small_bars.iloc[9:12]], ignore_index=True)
    with pytest.raises(DataError, match=r"row 10.*duplicate"):
        validate_bars(dup)
    unsorted = small_bars.iloc[[0, 2, 1, 3]].reset_index(drop=True)
    with pytest.raises(DataError, match=r"row 2.*not sorted"):
        validate_bars(unsorted)


def test_merge_keeps_the_newer_row_for_a_duplicate_timestamp(small_bars):
    old = small_bars.iloc[:10]
    new = small_bars.iloc[5:15].copy()
    new["volume"] = 123.0
    merged = merge_bars(old, new)
    assert len(merged) == 15
    assert (merged["volume"].iloc[5:15] == 123.0).all()
    assert (merged["volume"].iloc[:5] == old["volume"].iloc[:5]).all()


def test_gaps_are_reported_not_errors(small_bars):
    holed = small_bars.drop(index=range(100, 110)).reset_index(drop=True)
    validate_bars(holed)
    gaps = find_gaps(holed, 60)
    assert len(gaps) == 1 and int(gaps["missing_bars"].iloc[0]) == 10


@pytest.mark.parametrize("col", ["open", "high", "low", "close", "volume"])
def test_infinite_prices_and_volume_are_rejected_naming_the_row(small_bars, col):
    bad = small_bars.copy()
    bad.loc[11, col] = np.inf
    with pytest.raises(DataError, match=f"row 11.*{col} is not finite"):
        validate_bars(bad, name="file.parquet")


def test_price_files_without_a_source_label_validate_with_check_source_off(small_bars):
    unlabelled = small_bars.drop(columns=["source"])
    assert validate_bars(unlabelled, check_source=False) is unlabelled
    with pytest.raises(DataError, match="missing columns"):
        validate_bars(unlabelled)
    unlabelled.loc[4, "close"] = np.nan
    with pytest.raises(DataError, match="row 4"):
        validate_bars(unlabelled, check_source=False)
