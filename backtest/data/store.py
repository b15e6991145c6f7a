"""Parquet bar store: one file per (namespace, coin, interval, UTC day), written atomically.

Layout: `<root>/<namespace>/<coin>/<interval>/day=YYYY-MM-DD.parquet`, where namespace is `real` (sources
hyperliquid and recorded) or `synthetic`, so real and generated bars can never be mixed by accident. An append
rewrites only the day partitions its bars fall into (merging duplicates by timestamp, the newer row winning);
older partitions are never touched. Every write goes to a temporary file in the same folder and is moved into place
with `os.replace`, so a crash mid-write leaves the previous file intact.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from backtest.atomic import atomic_path
from backtest.data.schema import REAL_SOURCES, DataError, conform, empty_bars, merge_bars, validate_bars

NAMESPACES = ("real", "synthetic")
_PREFIX, _SUFFIX = "day=", ".parquet"


def namespace_of(sources: pd.Series) -> str:
    """The store namespace for bars with these `source` labels; mixed real and synthetic bars raise DataError."""
    kinds = {"real" if s in REAL_SOURCES else "synthetic" for s in pd.unique(sources)}
    if len(kinds) > 1:
        raise DataError("bars mix real and synthetic sources; store them separately (namespaces 'real', 'synthetic')")
    return kinds.pop() if kinds else "real"


def coin_key(coin: str) -> str:
    """A file-system-safe folder name for a coin (`xyz:XYZ100` -> `xyz_XYZ100`)."""
    return "".join(ch if ch.isalnum() or ch in "-." else "_" for ch in coin)


def atomic_write_table(table: pa.Table, path: Path) -> None:
    """Write `table` to `path` atomically; the old file survives any failure."""
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


class BarStore:
    """Read and append validated bars under `root`."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def folder(self, coin: str, interval: str, namespace: str) -> Path:
        if namespace not in NAMESPACES:
            raise DataError(f"unknown store namespace {namespace!r}; allowed: {NAMESPACES}")
        return self.root / namespace / coin_key(coin) / interval

    def partitions(self, coin: str, interval: str, namespace: str) -> list[Path]:
        """Day partition files, oldest first (temporary files are ignored)."""
        folder = self.folder(coin, interval, namespace)
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if p.name.startswith(_PREFIX) and p.name.endswith(_SUFFIX))

    def append(self, bars: pd.DataFrame, coin: str, interval: str) -> list[Path]:
        """Merge `bars` into their day partitions and return the files written. Validates before writing."""
        if len(bars) == 0:
            return []
        bars = validate_bars(merge_bars(empty_bars(), bars), name="bars to append")
        folder = self.folder(coin, interval, namespace_of(bars["source"]))
        days = bars["timestamp"].dt.strftime("%Y-%m-%d").to_numpy()
        written = []
        for day in np.unique(days):
            path = folder / f"{_PREFIX}{day}{_SUFFIX}"
            part = bars[days == day]
            if path.exists():
                part = merge_bars(self._read_file(path), part)
            validate_bars(part, name=str(path))
            atomic_write_table(pa.Table.from_pandas(part, preserve_index=False), path)
            written.append(path)
        return written

    def _read_file(self, path: Path) -> pd.DataFrame:
        try:
            df = pq.read_table(path).to_pandas()
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"{path}: unreadable Parquet file ({exc}); delete or restore it") from None
        return validate_bars(conform(df), name=str(path))

    def read(
        self,
        coin: str,
        interval: str,
        namespace: str = "real",
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Validated bars with start <= timestamp < end (either bound optional), sorted by time."""
        paths = self.partitions(coin, interval, namespace)
        if start is not None:
            first_day = pd.Timestamp(start).strftime("%Y-%m-%d")
            paths = [p for p in paths if p.name[len(_PREFIX) : -len(_SUFFIX)] >= first_day]
        if end is not None:
            last_day = pd.Timestamp(end).strftime("%Y-%m-%d")
            paths = [p for p in paths if p.name[len(_PREFIX) : -len(_SUFFIX)] <= last_day]
        if not paths:
            return empty_bars()
        df = pd.concat([self._read_file(p) for p in paths], ignore_index=True)
        if start is not None:
            df = df[df["timestamp"] >= pd.Timestamp(start)]
        if end is not None:
            df = df[df["timestamp"] < pd.Timestamp(end)]
        df = df.reset_index(drop=True)
        return validate_bars(df, name=f"{self.folder(coin, interval, namespace)}")

    def last_timestamp(self, coin: str, interval: str, namespace: str = "real") -> pd.Timestamp | None:
        """Open time of the newest stored bar, reading only the newest partition."""
        paths = self.partitions(coin, interval, namespace)
        if not paths:
            return None
        df = self._read_file(paths[-1])
        return df["timestamp"].iloc[-1] if len(df) else None
