"""Parquet bar store: one file per (namespace, coin, interval, UTC day), written atomically.

Layout: `<root>/<namespace>/<coin>/<interval>/day=YYYY-MM-DD.parquet`, where namespace is `real` (sources
hyperliquid and recorded), `proxy` (another market's bars mapped to this coin, `backtest/data/vendor/`) or
`synthetic`, so real, proxy and generated bars can never be mixed by accident. An append
rewrites only the day partitions its bars fall into (merging duplicates by timestamp, the newer row winning);
older partitions are never touched. Every write goes to a temporary file in the same folder and is moved into place
with `os.replace`, so a crash mid-write leaves the previous file intact.

An append that touches several days first records them in `_incomplete.json` in the folder and strikes days off as
their files land (in batches); the marker goes when every day is written. A process killed part-way leaves the
marker, and every later read refuses the folder, naming the days whose file is missing, until an append writes them.

Reads check every file before anything is filtered: rows filed under the wrong day, or labelled with a source that
does not belong to the namespace (synthetic bars under `real/`), are refused, never dropped or relabelled.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from backtest.data.schema import (
    SOURCE_KINDS,
    DataError,
    conform,
    empty_bars,
    merge_bars,
    timestamps_ms,
    validate_bars,
)
from cluster.atomic import atomic_path, atomic_write_json

NAMESPACES = ("real", "proxy", "synthetic")
_DAY_MS = 86_400_000
_WRITERS = 8
_STRIKE_EVERY = 64
_PREFIX, _SUFFIX = "day=", ".parquet"
MARKER = "_incomplete.json"


def namespace_of(sources: pd.Series) -> str:
    """The store namespace for bars with these `source` labels; bars of several kinds raise DataError."""
    kinds = {kind for s in pd.unique(sources) for kind, labels in SOURCE_KINDS.items() if s in labels}
    if len(kinds) > 1:
        raise DataError(
            f"bars mix {' and '.join(sorted(kinds))} sources; store them separately (namespaces {NAMESPACES})"
        )
    return kinds.pop() if kinds else "real"


def coin_key(coin: str) -> str:
    """A file-system-safe folder name for a coin (`xyz:XYZ100` -> `xyz_XYZ100`)."""
    return "".join(ch if ch.isalnum() or ch in "-." else "_" for ch in coin)


def day_name(day_number: int) -> str:
    """`YYYY-MM-DD` of a UTC day given as days since the epoch."""
    return str(np.datetime64(day_number, "D"))


def _day_number(path: Path) -> int:
    return int(np.datetime64(path.name[len(_PREFIX) : -len(_SUFFIX)], "D").astype(np.int64))


def atomic_write_table(table: pa.Table, path: Path) -> None:
    """Write `table` to `path` atomically; the old file survives any failure."""
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def _read_table(path: Path) -> pa.Table:
    """One day file as an Arrow table (`ParquetFile.read` without threads: `pq.read_table` sets up a dataset per
    call, about 10x the cost for a file this small)."""
    return pq.ParquetFile(path).read(use_threads=False)


def _stage(table: pa.Table, path: Path) -> Path:
    """Write `table` durably (fsynced) to a temporary file beside `path`; the caller moves it into place."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        pq.write_table(table, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _commit(tmp: Path, path: Path) -> None:
    """Move a staged day file into place (atomic on POSIX)."""
    os.replace(tmp, path)


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
        The bars are validated once as a whole; a day with no file yet is written as a slice of one Arrow table,
        a day that has one is merged with it and validated again.
        """
        if len(bars) == 0:
            return []
        bars = validate_bars(merge_bars(empty_bars(), bars), name="bars to append")
        namespace = namespace_of(bars["source"])
        folder = self.folder(coin, interval, namespace)
        day_index = timestamps_ms(bars) // _DAY_MS
        starts = np.flatnonzero(np.r_[True, day_index[1:] != day_index[:-1]])
        ends = np.r_[starts[1:], len(bars)]
        todo = [day_name(int(day_index[a])) for a in starts]
        pending = sorted(set(self._pending(folder)) | set(todo))
        marked = len(todo) > 1 or pending != todo  # one day is one atomic file: it needs no marker
        if marked:
            atomic_write_json(folder / MARKER, {"pending_days": pending})
        table = pa.Table.from_pandas(bars, preserve_index=False)
        parts = []
        for day, a, b in zip(todo, starts, ends):
            path = folder / f"{_PREFIX}{day}{_SUFFIX}"
            if path.exists():
                part = merge_bars(self._read_file(path, namespace), bars.iloc[a:b])
                validate_bars(part, name=str(path))
                parts.append((day, path, pa.Table.from_pandas(part, preserve_index=False)))
            else:
                parts.append((day, path, table.slice(int(a), int(b - a))))
        folder.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        # Day files are written and fsynced in parallel (the disk groups the flushes), then moved into place one by
        # one in day order and struck off the marker in batches (a stale marker lists days already written: reads
        # still refuse the folder until the append is rerun, and name the days whose file is missing).
        struck = time.monotonic()
        with ThreadPoolExecutor(max_workers=min(_WRITERS, len(parts))) as pool:
            staged = [pool.submit(_stage, tbl, path) for _, path, tbl in parts]
            try:
                for (day, path, _), future in zip(parts, staged):
                    _commit(future.result(), path)
                    written.append(path)
                    pending.remove(day)
                    if marked and pending and (len(written) % _STRIKE_EVERY == 0 or time.monotonic() - struck > 1.0):
                        atomic_write_json(folder / MARKER, {"pending_days": pending}, durable=False)
                        struck = time.monotonic()
            finally:
                for future in staged:  # whatever was staged and not moved into place is removed
                    tmp = future.exception() is None and future.result()
                    if tmp and tmp.exists():
                        tmp.unlink(missing_ok=True)
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

    def pending_days(self, coin: str, interval: str, namespace: str) -> list[str]:
        """Days an interrupted append to this folder left unwritten or possibly stale (empty when complete)."""
        return self._pending(self.folder(coin, interval, namespace))

    def check_complete(self, coin: str, interval: str, namespace: str) -> None:
        """Raise DataError when an append to this folder was interrupted and days are still missing."""
        folder = self.folder(coin, interval, namespace)
        pending = self._pending(folder)
        if pending:
            missing = [d for d in pending if not (folder / f"{_PREFIX}{d}{_SUFFIX}").exists()] or pending
            stale = len(pending) - len(missing)
            rest = f", and {stale} written day(s) may hold the old version" if stale else ""
            raise DataError(
                f"{folder}: incomplete: an append was interrupted and {len(missing)} day file(s) were never written "
                f"({missing[0]} .. {missing[-1]}){rest}; rerun the command that wrote them (e.g. `python -m "
                "backtest.data synth`, `fetch` or `import`) to complete the span, or delete the folder"
            )

    def _read_file(self, path: Path, namespace: str) -> pd.DataFrame:
        try:
            df = _read_table(path).to_pandas()
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
        allowed = SOURCE_KINDS[namespace]
        wrong = ~df["source"].isin(allowed).to_numpy()
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            raise DataError(
                f"{path}: {int(wrong.sum())} of {len(df)} rows are labelled source={df['source'].iloc[i]!r} "
                f"(first: row {i}) inside the {namespace!r} namespace, which holds only {allowed}; "
                "they are refused, never relabelled: move them to the right namespace or delete the file"
            )
        return df

    def _read_files(self, paths: list[Path], namespace: str, name: str) -> pd.DataFrame:
        """The day files `paths` as one validated frame: every check of `_read_file`, done once over all of them.

        Any problem (an unreadable file, a schema mismatch, a bad row, a misfiled row, a wrong label) sends the read
        down the file-by-file path, which raises the same error `_read_file` would, naming the file.
        """
        try:
            tables = [_read_table(p) for p in paths]
            df = conform(pa.concat_tables(tables).to_pandas())
        except (OSError, pa.ArrowException, TypeError, ValueError):
            return self._read_slowly(paths, namespace, name)
        file_day = np.repeat([_day_number(p) for p in paths], [t.num_rows for t in tables])
        try:
            validate_bars(df, name=name)
        except DataError:
            return self._read_slowly(paths, namespace, name)
        misfiled = timestamps_ms(df) // _DAY_MS != file_day
        wrong = ~df["source"].isin(SOURCE_KINDS[namespace]).to_numpy()
        if misfiled.any() or wrong.any():
            return self._read_slowly(paths, namespace, name)
        return df

    def _read_slowly(self, paths: list[Path], namespace: str, name: str) -> pd.DataFrame:
        df = pd.concat([self._read_file(p, namespace) for p in paths], ignore_index=True)
        return validate_bars(df, name=name)

    def read(
        self,
        coin: str,
        interval: str,
        namespace: str = "real",
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        incomplete_ok: bool = False,
    ) -> pd.DataFrame:
        """Validated bars with start <= timestamp < end (either bound optional), sorted by time.

        Every file read is validated whole (schema, day, namespace) before rows are filtered by time, and a folder
        left incomplete by an interrupted append is refused (`incomplete_ok`: read what is there, for the command
        that completes it).
        """
        if not incomplete_ok:
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
        df = self._read_files(paths, namespace, name=str(self.folder(coin, interval, namespace)))
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
