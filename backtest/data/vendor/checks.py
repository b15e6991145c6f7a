"""Row checks on a vendor file, each naming the file and lines it found, and the merge of several files.

Nothing is dropped silently: a row that fails a check is an error (the import writes nothing), and the only rows
merged away are exact duplicates (the same bar twice, as overlapping yearly files hold), which are counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from backtest.data.schema import DataError

SHOWN = 3  # examples per check in the error
PRICE = ("open", "high", "low", "close")
VALUES = (*PRICE, "volume")


@dataclass
class Problems:
    """Failed checks: (check, rows affected, the first few rows named)."""

    items: list[tuple[str, int, list[str]]] = field(default_factory=list)

    def add(self, check: str, where: list[str], count: int | None = None) -> None:
        if where:
            self.items.append((check, len(where) if count is None else count, where[:SHOWN]))

    def add_rows(self, check: str, mask: np.ndarray, name: callable) -> None:
        rows = np.flatnonzero(mask)
        if len(rows):
            self.add(check, [name(int(i)) for i in rows[:SHOWN]], len(rows))

    def raise_if_any(self, files: int) -> None:
        if not self.items:
            return
        total = sum(n for _, n, _ in self.items)
        parts = [f"{check}: {n:,} row(s), e.g. {'; '.join(ex)}" for check, n, ex in self.items]
        raise DataError(
            f"import refused, nothing written: {total:,} bad row(s) in {files} file(s) -- " + " | ".join(parts)
        )


def numbers(frame: pd.DataFrame, col: str, problems: Problems, name) -> np.ndarray:
    """A price or volume column as float64; values that are not numbers are named."""
    raw = frame[col]
    if pd.api.types.is_numeric_dtype(raw.dtype):
        return raw.to_numpy(dtype=np.float64)
    num = pd.to_numeric(raw, errors="coerce")
    bad = num.isna().to_numpy() & raw.notna().to_numpy()
    rows = np.flatnonzero(bad)
    problems.add(f"{col} is not a number", [f"{name(int(i))} ({raw.iloc[i]!r})" for i in rows[:SHOWN]], len(rows))
    return num.to_numpy(dtype=np.float64)


def check_values(v: dict[str, np.ndarray], problems: Problems, name) -> None:
    """Prices finite and positive, high >= max(open, close), low <= min(open, close), volume finite and >= 0."""
    for col in PRICE:
        x = v[col]
        problems.add_rows(f"{col} is missing or not finite", ~np.isfinite(x), name)
        problems.add_rows(f"{col} is not positive", np.isfinite(x) & (x <= 0), name)
    o, h, lo, c = (v[k] for k in PRICE)
    with np.errstate(invalid="ignore"):
        problems.add_rows("high below max(open, close)", h < np.maximum(o, c), name)
        problems.add_rows("low above min(open, close)", lo > np.minimum(o, c), name)
        vol = v["volume"]
        problems.add_rows("volume is not finite", ~np.isfinite(vol), name)
        problems.add_rows("volume is negative", vol < 0, name)


def check_order(ts: np.ndarray, ok: np.ndarray, problems: Problems, name) -> None:
    """Bars later in the file must not be earlier in time (after conversion to UTC)."""
    rows = np.flatnonzero(ok)
    t = ts[rows]
    back = np.flatnonzero(np.diff(t) < 0) + 1
    problems.add(
        "out of order (earlier than the row before)", [f"{name(int(rows[i]))}" for i in back[:SHOWN]], len(back)
    )


def check_interval(ts: np.ndarray, ok: np.ndarray, interval_ms: int, label: str, file: str, problems: Problems, name):
    """Timestamps on the interval's grid, and bars of that interval (the most common step between rows)."""
    off = ok & (ts % interval_ms != 0)
    problems.add_rows(f"timestamp not on the {label} grid (after the bar-stamp shift)", off, name)
    steps = np.diff(np.sort(ts[ok]))
    steps = steps[(steps > 0) & (steps < 86_400_000)]
    if len(steps) >= 20:
        values, counts = np.unique(steps, return_counts=True)
        mode = int(values[np.argmax(counts)])
        if mode != interval_ms and (steps == interval_ms).mean() < 0.5:
            raise DataError(
                f"{file}: most bars are {mode // 1000} s apart: not {label} bars; import it with "
                f"the interval it holds (--interval), or resample it first"
            )


@dataclass
class Merged:
    """Bars of all files, sorted and unique by time."""

    frame: pd.DataFrame  # ts (int64 ms), open, high, low, close, volume, trades, symbol (optional), file, line
    duplicates: int  # identical rows merged away


def merge_files(parts: list[pd.DataFrame], where, problems: Problems) -> Merged:
    """Concatenate (each part with `file` and `line` columns), sort by time, merge identical duplicates and name
    duplicates that disagree; `where(file, line)` names a row."""
    frame = pd.concat(parts, ignore_index=True)
    order = np.argsort(frame["ts"].to_numpy(), kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    ts = frame["ts"].to_numpy()
    same_time = np.r_[False, ts[1:] == ts[:-1]]
    if not same_time.any():
        return Merged(frame, 0)
    files, lines = frame["file"].to_numpy(), frame["line"].to_numpy()
    vals = frame[list(VALUES)].to_numpy(dtype=np.float64)
    same_bar = np.r_[False, (vals[1:] == vals[:-1]).all(axis=1)]
    if "symbol" in frame:
        sym = frame["symbol"].astype(str).to_numpy()
        same_bar &= np.r_[False, sym[1:] == sym[:-1]]
    clash = np.flatnonzero(same_time & ~same_bar)
    examples = []
    for i in clash[:SHOWN]:
        t = pd.Timestamp(int(ts[i]), unit="ms", tz="UTC")
        extra = ""
        if "symbol" in frame:
            extra = f" ({frame['symbol'].iloc[i - 1]} vs {frame['symbol'].iloc[i]}: several instruments?)"
        a, b = where(files[i - 1], lines[i - 1]), where(files[i], lines[i])
        examples.append(f"{t:%Y-%m-%d %H:%M} UTC at {a} and {b}{extra}")
    problems.add("two bars at the same time disagree", examples, len(clash))
    keep = ~(same_time & same_bar)
    return Merged(frame[keep].reset_index(drop=True), int((same_time & same_bar).sum()))
