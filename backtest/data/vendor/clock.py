"""Vendor timestamps to the store's UTC bar-open milliseconds.

Three kinds of timestamp are read:
- epoch numbers (Databento's `ts_event` in ns, TradingView's seconds ...): UTC; the unit is `--ts-unit` or told by
  the size of the numbers (>= 1e17 ns, >= 1e14 us, >= 1e11 ms, else s);
- strings with an offset or `Z` (ISO 8601): UTC after the offset;
- local strings without a zone (FirstRate, Kibot, most broker exports): a format is found on the first rows (or
  given with `--ts-format`), then the wall-clock times are placed in `--tz` or in the zone the import detects
  (`backtest.data.vendor.session`). On the autumn DST change the repeated hour is resolved by its order in the file;
  a time that does not exist (the spring change) or a repeated one the order cannot resolve is named, not guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from backtest.data.vendor.read import RawFile

FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S.%f",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%Y%m%d %H%M%S",
    "%Y%m%d %H:%M:%S",
    "%Y%m%d %H%M",
    "%Y.%m.%d %H:%M",
    "%Y.%m.%d %H:%M:%S",
    "%d.%m.%Y %H:%M:%S.%f",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
)
UNITS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_AWARE = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$")
_SAMPLE = 500


@dataclass
class Stamps:
    """Parsed timestamps of one file: int64 ns, UTC when `naive` is False, wall-clock otherwise; NaT rows are bad."""

    ns: np.ndarray  # int64; meaningless where `bad`
    bad: np.ndarray  # bool: the timestamp could not be parsed
    naive: bool
    how: str  # e.g. "epoch ns", "ISO 8601 with offset", "%m/%d/%Y %H:%M (local)"
    notes: list[str]


def _text(raw: RawFile) -> pd.Series:
    f = raw.frame
    if "timestamp" in f:
        return f["timestamp"]
    return f["date"].astype(str).str.strip() + " " + f["time"].astype(str).str.strip()


def _epoch(values: pd.Series, unit: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    num = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(num)
    if unit is None:
        size = float(np.median(np.abs(num[~bad]))) if (~bad).any() else 0.0
        unit = "ns" if size >= 1e17 else "us" if size >= 1e14 else "ms" if size >= 1e11 else "s"
    if pd.api.types.is_integer_dtype(values.dtype):
        ns = values.to_numpy(dtype=np.int64) * UNITS[unit]
    else:
        ns = np.where(bad, 0, np.round(np.nan_to_num(num) * UNITS[unit])).astype(np.int64)
    return ns, bad, f"epoch {unit} (UTC)"


def _pick_format(sample: pd.Series) -> list[str]:
    """Formats that parse the most sampled values (at least 90 %: a bad row must not hide the format), best first."""
    scores = {fmt: int(pd.to_datetime(sample, format=fmt, errors="coerce").notna().sum()) for fmt in FORMATS}
    best = max(scores.values(), default=0)
    if best < 0.9 * len(sample) or best == 0:
        return []
    return [fmt for fmt in FORMATS if scores[fmt] == best]


def parse_stamps(raw: RawFile, ts_unit: str | None = None, ts_format: str | None = None) -> Stamps:
    """The file's timestamps as int64 ns (UTC, or wall-clock when the file gives no zone), bad rows marked."""
    values = _text(raw)
    notes: list[str] = []
    if pd.api.types.is_datetime64_any_dtype(values.dtype):  # Parquet: already timestamps
        idx = pd.DatetimeIndex(values).as_unit("ns")
        aware = idx.tz is not None
        idx = idx.tz_convert("UTC").tz_localize(None) if aware else idx
        bad = np.asarray(idx.isna())
        how = "timestamps with a zone (UTC)" if aware else "timestamps without a zone (local time)"
        return Stamps(np.where(bad, 0, idx.asi8), bad, not aware, how, notes)
    numeric = pd.api.types.is_numeric_dtype(values.dtype)
    sample = values.dropna().astype(str).str.strip().head(_SAMPLE)
    if ts_unit is not None or numeric or (len(sample) and sample.str.fullmatch(r"\d{9,}(\.\d*)?").all()):
        if ts_unit is not None and ts_unit not in UNITS:
            raise ValueError(f"--ts-unit must be one of {sorted(UNITS)}, got {ts_unit!r}")
        ns, bad, how = _epoch(values, ts_unit)
        return Stamps(ns, bad, False, how, notes)
    text = values.astype(str).str.strip()
    if ts_format is None and len(sample) and sample.str.contains(_AWARE).all():
        parsed = pd.DatetimeIndex(pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")).as_unit("ns")
        bad = np.asarray(parsed.isna())
        ns = parsed.asi8
        return Stamps(np.where(bad, 0, ns), bad, False, "ISO 8601 with offset (UTC)", notes)
    if ts_format is not None:
        fmt = ts_format
    else:
        fits = _pick_format(sample)
        if not fits:
            first = sample.iloc[0] if len(sample) else ""
            raise ValueError(
                f"{raw.name}: cannot tell the timestamp format (first: {first!r}); give --ts-format, e.g. "
                "--ts-format '%Y-%m-%d %H:%M:%S'"
            )
        fmt = fits[0]
        if len(fits) > 1 and fits[0].startswith("%m/%d") and any(f.startswith("%d/%m") for f in fits):
            us = pd.to_datetime(text, format=fmt, errors="coerce").isna().sum()
            eu_fmt = next(f for f in fits if f.startswith("%d/%m"))
            eu = pd.to_datetime(text, format=eu_fmt, errors="coerce").isna().sum()
            if eu < us:
                fmt = eu_fmt
            elif eu == us:
                notes.append(f"dates read as month/day ({fmt}); give --ts-format if they are day/month")
    parsed = pd.DatetimeIndex(pd.to_datetime(text, format=fmt, errors="coerce")).as_unit("ns")
    bad = np.asarray(parsed.isna())
    ns = parsed.asi8
    return Stamps(np.where(bad, 0, ns), bad, True, f"{fmt} (local time)", notes)


def localize(wall_ns: np.ndarray, bad: np.ndarray, tz: str) -> tuple[np.ndarray, np.ndarray]:
    """Wall-clock ns in `tz` to UTC ns; returns (utc_ns, unresolved) where unresolved marks times that do not exist
    in `tz` (spring DST change) or happen twice and cannot be told apart by their order (autumn change)."""
    idx = pd.DatetimeIndex(np.where(bad, 0, wall_ns).astype("datetime64[ns]"))
    try:
        local = idx.tz_localize(tz, ambiguous="infer", nonexistent="NaT")
    except (ValueError, TypeError):  # the repeated hour cannot be inferred from the order: name those rows
        local = idx.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    unresolved = np.asarray(local.isna()) & ~bad
    utc = local.tz_convert("UTC").as_unit("ns").asi8
    return np.where(unresolved | bad, 0, utc), unresolved
