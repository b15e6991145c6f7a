"""The one bar schema shared by every data source, and the validation run on every load.

A bar is one candle: `timestamp` is the bar OPEN time (UTC, millisecond resolution); prices and volume are float64;
`trades` is the number of trades in the bar; `source` says where the bar came from (`SOURCES`): the venue's own
bars (`hyperliquid` fetched, `recorded` from the WebSocket), `proxy` (another market's real bars mapped to this one's
level, `python -m backtest.data import`) or `synthetic` (generated). `source_shares` is the one definition of the
real / proxy / synthetic shares every report prints.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BAR_COLUMNS = ("timestamp", "open", "high", "low", "close", "volume", "trades", "source")
PRICE_COLUMNS = ("open", "high", "low", "close")
SOURCES = ("hyperliquid", "recorded", "proxy", "synthetic")
REAL_SOURCES = ("hyperliquid", "recorded")
PROXY_SOURCES = ("proxy",)
SYNTHETIC_SOURCES = ("synthetic",)
SOURCE_KINDS = {"real": REAL_SOURCES, "proxy": PROXY_SOURCES, "synthetic": SYNTHETIC_SOURCES}
TIMESTAMP_DTYPE = "datetime64[ms, UTC]"
_MAX_REPORTED = 5


class DataError(ValueError):
    """Market data is missing, malformed or inconsistent; the message says what, where and how to fix it."""


def empty_bars() -> pd.DataFrame:
    """A zero-row frame with the bar schema and dtypes."""
    return conform(pd.DataFrame({c: [] for c in BAR_COLUMNS}))


def conform(df: pd.DataFrame) -> pd.DataFrame:
    """Cast `df` to the bar schema (column order and dtypes); missing columns raise DataError."""
    missing = [c for c in BAR_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"bars lack columns {missing}; the schema is {list(BAR_COLUMNS)}")
    out = pd.DataFrame(
        {
            "timestamp": _to_timestamps(df["timestamp"]),
            **{c: df[c].to_numpy(dtype=np.float64) for c in (*PRICE_COLUMNS, "volume")},
            "trades": df["trades"].to_numpy(dtype=np.int64),
            "source": df["source"].astype(str).to_numpy(),
        }
    )
    out["source"] = out["source"].astype(str)
    return out


def _to_timestamps(col: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(col):
        ts = pd.to_datetime(col, utc=True)
    else:
        ts = pd.to_datetime(col.to_numpy(dtype=np.int64), unit="ms", utc=True)
    return pd.Series(ts).dt.as_unit("ms").reset_index(drop=True)


def timestamps_ms(bars: pd.DataFrame) -> np.ndarray:
    """Bar open times as int64 milliseconds since the epoch."""
    return bars["timestamp"].dt.as_unit("ms").to_numpy(dtype="datetime64[ms]").view(np.int64)


def merge_bars(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Union of two bar frames; where both hold a timestamp the row from `new` wins. Sorted by time."""
    both = pd.concat([conform(old), conform(new)], ignore_index=True)
    both = both.drop_duplicates("timestamp", keep="last").sort_values("timestamp", kind="stable")
    return both.reset_index(drop=True)


def source_shares(sources: pd.Series | np.ndarray) -> dict[str, float]:
    """Shares of real, proxy and synthetic bars among `sources` (the `source` column): {"real", "proxy", "synthetic"}.

    All three are 0 for no bars; they sum to 1 otherwise (every valid label is one of the three kinds).
    """
    values = pd.Series(np.asarray(sources)).astype(str)
    n = len(values)
    if n == 0:
        return {kind: 0.0 for kind in SOURCE_KINDS}
    counts = values.value_counts()
    return {kind: float(sum(counts.get(s, 0) for s in labels)) / n for kind, labels in SOURCE_KINDS.items()}


def _describe_rows(df: pd.DataFrame, mask: np.ndarray, what: str) -> list[str]:
    idx = np.flatnonzero(mask)[:_MAX_REPORTED]
    return [f"row {i} ({df['timestamp'].iloc[i]}): {what}" for i in idx]


def validate_bars(df: pd.DataFrame, name: str = "bars", check_source: bool = True) -> pd.DataFrame:
    """Check the schema invariants and return `df` unchanged; raise DataError naming the first bad rows.

    Invariants: all columns present, no NaN, timestamps strictly increasing (sorted and unique), prices finite and
    positive, low <= open, close <= high, volume finite and non-negative, trades non-negative, source one of SOURCES
    (`check_source=False` skips the label, for price files that carry none: the paper exchange). Gaps are not errors
    (see `find_gaps`).
    """
    columns = BAR_COLUMNS if check_source else BAR_COLUMNS[:-1]
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"{name}: missing columns {missing}; the schema is {list(columns)}")
    if len(df) == 0:
        return df
    problems: list[str] = []
    for col in columns:
        isna = df[col].isna().to_numpy()
        if isna.any():
            problems += _describe_rows(df, isna, f"{col} is missing (NaN)")
    if problems:
        raise DataError(
            f"{name}: {len(problems)} bad rows shown (first {_MAX_REPORTED} per check): " + "; ".join(problems)
        )
    ts = timestamps_ms(df) if pd.api.types.is_datetime64_any_dtype(df["timestamp"]) else df["timestamp"].to_numpy()
    step = np.diff(ts)
    dup = np.concatenate([[False], step == 0])
    unsorted = np.concatenate([[False], step < 0])
    problems += _describe_rows(df, dup, "duplicate timestamp (same as the row before)")
    problems += _describe_rows(df, unsorted, "timestamp earlier than the row before (not sorted)")
    o, h, lo, c = (df[k].to_numpy(dtype=np.float64) for k in PRICE_COLUMNS)
    for k, arr in zip(PRICE_COLUMNS, (o, h, lo, c)):
        problems += _describe_rows(df, ~np.isfinite(arr), f"{k} is not finite (inf)")
        problems += _describe_rows(df, np.isfinite(arr) & ~(arr > 0), f"{k} is not positive")
    bad_low = (lo > o) | (lo > c)
    bad_high = (h < o) | (h < c)
    for i in np.flatnonzero(bad_low)[:_MAX_REPORTED]:
        problems.append(f"row {i} ({df['timestamp'].iloc[i]}): low {lo[i]} above open {o[i]} or close {c[i]}")
    for i in np.flatnonzero(bad_high)[:_MAX_REPORTED]:
        problems.append(f"row {i} ({df['timestamp'].iloc[i]}): high {h[i]} below open {o[i]} or close {c[i]}")
    vol = df["volume"].to_numpy(dtype=np.float64)
    problems += _describe_rows(df, ~np.isfinite(vol), "volume is not finite")
    problems += _describe_rows(df, vol < 0, "volume is negative")
    problems += _describe_rows(df, df["trades"].to_numpy() < 0, "trades is negative")
    if check_source:
        bad_src = ~df["source"].isin(SOURCES).to_numpy()
        problems += _describe_rows(df, bad_src, f"source not one of {SOURCES}")
    if problems:
        raise DataError(
            f"{name}: invalid bars ({len(df)} rows); first problems: " + "; ".join(problems[: 3 * _MAX_REPORTED])
        )
    return df


def find_gaps(bars: pd.DataFrame, interval_s: int) -> pd.DataFrame:
    """Gaps between consecutive bars longer than one interval: columns after (timestamp), before, missing_bars."""
    if len(bars) < 2:
        return pd.DataFrame({"before": [], "after": [], "missing_bars": []})
    ts = timestamps_ms(bars)
    step = np.diff(ts)
    where = np.flatnonzero(step > interval_s * 1000)
    return pd.DataFrame(
        {
            "before": bars["timestamp"].iloc[where].to_numpy(),
            "after": bars["timestamp"].iloc[where + 1].to_numpy(),
            "missing_bars": (step[where] // (interval_s * 1000) - 1).astype(np.int64),
        }
    )
