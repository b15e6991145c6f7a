"""Parquet bar store: one file per (namespace, coin, interval, UTC day), written atomically.

Layout: `<root>/<namespace>/<coin>/<interval>/day=YYYY-MM-DD.parquet`, where namespace is `real` (sources
hyperliquid and recorded) or `synthetic`, so real and generated bars can never be mixed by accident. An append
rewrites only the day partitions its bars fall into (merging duplicates by timestamp, the newer row winning);
older partitions are never touched. Every write goes to a temporary file in the same folder and is moved into place
with `os.replace`, so a crash mid-write leaves the previous file intact.

An append that touches several days first records them in `_incomplete.json` in the folder and removes each day as
its file lands; the marker goes when every day is written. A process killed part-way leaves the marker, and every
later read refuses the folder, naming the days that are missing, until an append writes them.

Reads check every file before anything is filtered: rows filed under the wrong day, or labelled with a source that
does not belong to the namespace (synthetic bars under `real/`), are refused, never dropped or relabelled.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cluster.atomic import atomic_path, atomic_write_json
from backtest.data.schema import REAL_SOURCES, DataError, conform, empty_bars, merge_bars, validate_bars

NAMESPACES = ("real", "synthetic")
_PREFIX, _SUFFIX = "day=", ".parquet"
MARKER = "_incomplete.json"


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
        """Merge `bars` into their day partitions and return the files written. Validates before writing.

        The days about to be written are recorded in the folder's marker first and struck off one by one, so a
        process killed part-way leaves a folder that later reads refuse as incomplete (see the module docstring).
        """
        if len(bars) == 0:
            return []
        bars = validate_bars(merge_bars(empty_bars(), bars), name="bars to append")
        namespace = namespace_of(bars["source"])
        folder = self.folder(coin, interval, namespace)
        days = bars["timestamp"].dt.strftime("%Y-%m-%d").to_numpy()
        todo = [str(d) for d in np.unique(days)]
        pending = sorted(set(self._pending(folder)) | set(todo))
        marked = len(todo) > 1 or pending != todo  # one day is one atomic file: it needs no marker
        if marked:
            atomic_write_json(folder / MARKER, {"pending_days": pending})
        written = []
        for day in todo:
            path = folder / f"{_PREFIX}{day}{_SUFFIX}"
            part = bars[days == day]
            if path.exists():
                part = merge_bars(self._read_file(path, namespace), part)
            validate_bars(part, name=str(path))
            atomic_write_table(pa.Table.from_pandas(part, preserve_index=False), path)
            written.append(path)
            pending.remove(day)
            if marked and pending:
                atomic_write_json(folder / MARKER, {"pending_days": pending})
        if marked and not pending:
            (folder / MARKER).unlink(missing_ok=True)
        return written

    @staticmethod
    def _pending(folder: Path) -> list[str]:
        """Days an interrupted append left unwritten (empty when the folder is complete)."""
        marker = folder / MARKER
        if not marker.exists():
            return []
        try:
            return [str(d) for d in json.loads(marker.read_text())["pending_days"]]
        except (OSError, ValueError, KeyError, TypeError):
            raise DataError(f"{marker}: unreadable incomplete-append marker; delete it and rewrite the span") from None

    def check_complete(self, coin: str, interval: str, namespace: str) -> None:
        """Raise DataError when an append to this folder was interrupted and days are still missing."""
        folder = self.folder(coin, interval, namespace)
        pending = self._pending(folder)
        if pending:
            raise DataError(
                f"{folder}: incomplete: an append was interrupted and {len(pending)} day file(s) were never written "
                f"({pending[0]} .. {pending[-1]}); rerun the command that wrote them (e.g. `python -m backtest.data "
                f"synth` or `fetch`) to complete the span, or delete the folder"
            )

    def _read_file(self, path: Path, namespace: str) -> pd.DataFrame:
        try:
            df = pq.read_table(path).to_pandas()
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"{path}: unreadable Parquet file ({exc}); delete or restore it") from None
        try:
            df = conform(df)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{path}: columns do not fit the bar schema ({exc})") from None
        validate_bars(df, name=str(path))
        day = path.name[len(_PREFIX) : -len(_SUFFIX)]
        misfiled = df["timestamp"].dt.strftime("%Y-%m-%d").to_numpy() != day
        if misfiled.any():
            i = int(np.flatnonzero(misfiled)[0])
            raise DataError(
                f"{path}: {int(misfiled.sum())} of {len(df)} rows are not from {day} (first: row {i}, "
                f"{df['timestamp'].iloc[i]}); the file is misfiled or corrupt: restore it or rewrite the span"
            )
        allowed = REAL_SOURCES if namespace == "real" else ("synthetic",)
        wrong = ~df["source"].isin(allowed).to_numpy()
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            raise DataError(
                f"{path}: {int(wrong.sum())} of {len(df)} rows are labelled source={df['source'].iloc[i]!r} "
                f"(first: row {i}) inside the {namespace!r} namespace, which holds only {allowed}; "
                "they are refused, never relabelled: move them to the right namespace or delete the file"
            )
        return df

    def read(
        self,
        coin: str,
        interval: str,
        namespace: str = "real",
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Validated bars with start <= timestamp < end (either bound optional), sorted by time.

        Every file read is validated whole (schema, day, namespace) before rows are filtered by time, and a folder
        left incomplete by an interrupted append is refused.
        """
        self.check_complete(coin, interval, namespace)
        paths = self.partitions(coin, interval, namespace)
        if start is not None:
            first_day = pd.Timestamp(start).strftime("%Y-%m-%d")
            paths = [p for p in paths if p.name[len(_PREFIX) : -len(_SUFFIX)] >= first_day]
        if end is not None:
            last_day = pd.Timestamp(end).strftime("%Y-%m-%d")
            paths = [p for p in paths if p.name[len(_PREFIX) : -len(_SUFFIX)] <= last_day]
        if not paths:
            return empty_bars()
        df = pd.concat([self._read_file(p, namespace) for p in paths], ignore_index=True)
        validate_bars(df, name=f"{self.folder(coin, interval, namespace)}")
        if start is not None:
            df = df[df["timestamp"] >= pd.Timestamp(start)]
        if end is not None:
            df = df[df["timestamp"] < pd.Timestamp(end)]
        return df.reset_index(drop=True)

    def last_timestamp(self, coin: str, interval: str, namespace: str = "real") -> pd.Timestamp | None:
        """Open time of the newest stored bar, reading only the newest partition."""
        self.check_complete(coin, interval, namespace)
        paths = self.partitions(coin, interval, namespace)
        if not paths:
            return None
        df = self._read_file(paths[-1], namespace)
        return df["timestamp"].iloc[-1] if len(df) else None
