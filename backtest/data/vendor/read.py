"""Read a vendor's bar file into named columns, keeping where each row came from.

Files: CSV or TXT (any of `,` `;` tab `|` as delimiter, with or without a header), the same gzipped (`.gz`), a
`.zip` holding one or more of them, and Parquet. Columns are named from the header (aliases in `ALIASES`:
Databento `ts_event`, `Date`/`Time`, MetaTrader `<DATE>`, TradingView `time`, ...), from `--columns` (positional
names, `skip` for a column to ignore), or, for a headerless file, from its shape: six fields with a date and time in
the first (FirstRate Data: `2024-01-02 18:00:00,o,h,l,c,v`), seven with a date then a time (Kibot:
`01/02/2024,18:00,o,h,l,c,v`). Each row keeps its file line (`line`, 1-based, header counted) so every later check
can name it.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from backtest.data.schema import DataError

FIELDS = ("timestamp", "date", "time", "open", "high", "low", "close", "volume", "trades", "symbol", "skip")
ALIASES: dict[str, tuple[str, ...]] = {
    "timestamp": ("ts_event", "timestamp", "datetime", "date_time", "datetime_utc", "gmt_time", "local_time",
                  "date/time", "ts", "bar_time", "open_time", "time_utc"),
    "date": ("date", "day", "trade_date"),
    "time": ("time",),
    "open": ("open", "o", "open_price", "first"),
    "high": ("high", "h", "high_price", "max"),
    "low": ("low", "l", "low_price", "min"),
    "close": ("close", "c", "last", "close_price"),
    "volume": ("volume", "vol", "v", "tickvol", "tick_volume", "size"),
    "trades": ("trades", "count", "num_trades", "trade_count", "number_of_trades"),
    "symbol": ("symbol", "raw_symbol", "contract", "instrument", "ticker"),
}  # fmt: skip
_DATE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}$|^\d{8}$")
_TIME = re.compile(r"^\d{1,2}:?\d{2}(:?\d{2}(\.\d+)?)?$")


@dataclass
class RawFile:
    """One file's rows with named columns (strings or numbers as read) and their line numbers."""

    name: str  # the path, or archive.zip:member
    frame: pd.DataFrame  # columns named from FIELDS (no "skip")
    lines: np.ndarray  # int64: file line of each row (1-based; Parquet: row number, 1-based)
    unit: str  # "line" or "row": what `lines` counts
    layout: str  # how the columns were named: "header", "--columns", "firstrate", "kibot", "parquet"
    notes: list[str] = field(default_factory=list)

    def where(self, i: int) -> str:
        return f"{self.name} {self.unit} {int(self.lines[i])}"


def _norm(name: str) -> str:
    return re.sub(r"[\s<>\"']+", "", str(name)).strip().lower().replace(" ", "_")


def name_columns(header: list[str]) -> list[str]:
    """Field names for a header row (`skip` for unknown columns); `time` becomes the timestamp when no date column."""
    names = []
    for raw in header:
        key = _norm(raw)
        names.append(next((f for f, al in ALIASES.items() if key in al or key.replace("_", "") in al), "skip"))
    if "time" in names and "date" not in names and "timestamp" not in names:
        names[names.index("time")] = "timestamp"
    return names


def parse_columns_option(spec: str) -> list[str]:
    """`--columns date,time,open,...` into field names; unknown names are a DataError naming them."""
    names = [c.strip().lower() for c in spec.split(",")]
    bad = [c for c in names if c not in FIELDS]
    if bad:
        raise DataError(f"--columns: unknown column name(s) {bad}; use {', '.join(FIELDS)}")
    return names


def _check_names(names: list[str], where: str) -> None:
    used = [n for n in names if n != "skip"]
    dup = sorted({n for n in used if used.count(n) > 1})
    if dup:
        raise DataError(f"{where}: columns {dup} are named twice; give --columns to say which is which")
    has_time = "timestamp" in used or ("date" in used and "time" in used)
    missing = [c for c in ("open", "high", "low", "close") if c not in used]
    if not has_time or missing:
        need = ([] if has_time else ["a timestamp (or date and time)"]) + missing
        raise DataError(
            f"{where}: cannot find {', '.join(need)} among the columns {names}; give --columns, e.g. "
            "--columns date,time,open,high,low,close,volume"
        )


def _shape_names(fields: list[str]) -> tuple[list[str], str] | None:
    """Column names for a headerless row from its shape (FirstRate, Kibot), or None."""
    n = len(fields)
    first = fields[0].strip()
    if (" " in first or "T" in first[8:]) and n in (5, 6, 7):
        return ["timestamp", "open", "high", "low", "close", "volume", "trades"][:n], "firstrate"
    if n >= 6 and _DATE.match(first) and _TIME.match(fields[1].strip()):
        return ["date", "time", "open", "high", "low", "close", "volume", "trades"][:n], "kibot"
    if n in (5, 6) and first.isdigit() and len(first) >= 9:  # epoch seconds / ms / ns without a header
        return ["timestamp", "open", "high", "low", "close", "volume"][:n], "epoch"
    return None


def _looks_like_header(fields: list[str]) -> bool:
    def numeric(x: str) -> bool:
        try:
            float(x)
            return True
        except ValueError:
            return False

    values = [f.strip() for f in fields]
    return not any(numeric(v) for v in values) and not any(_DATE.match(v) or _TIME.match(v) for v in values[:2])


def _sniff(head: str) -> str:
    try:
        return csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _read_text(name: str, data: bytes, columns: list[str] | None) -> RawFile:
    text_head = data[:8192].decode("utf-8-sig", errors="replace")
    lines = [ln for ln in text_head.splitlines() if ln.strip()]
    if not lines:
        raise DataError(f"{name}: the file is empty")
    sep = _sniff("\n".join(lines[:5]))
    first = next(csv.reader([lines[0]], delimiter=sep))
    has_header = _looks_like_header(first)
    if columns is not None:
        names, layout = list(columns), "--columns"
    elif has_header:
        names, layout = name_columns(first), "header"
    else:
        shaped = _shape_names(first)
        if shaped is None:
            raise DataError(
                f"{name}: no header and {len(first)} fields in the first row ({lines[0][:60]!r}): cannot tell the "
                "columns; give --columns, e.g. --columns date,time,open,high,low,close,volume"
            )
        names, layout = shaped
    _check_names(names, name)
    wanted = [i for i, n in enumerate(names) if n != "skip"]
    try:
        df = pd.read_csv(
            io.BytesIO(data),
            sep=sep,
            header=0 if has_header else None,
            usecols=wanted,
            dtype={i: str for i, n in enumerate(names) if n in ("date", "time", "symbol")},
            skip_blank_lines=False,
            encoding="utf-8-sig",
            engine="c",
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{name}: not a readable {sep!r}-separated file ({' '.join(str(exc).split())})") from None
    df.columns = [names[i] for i in wanted]
    line = np.arange(len(df), dtype=np.int64) + (2 if has_header else 1)
    blank = df.isna().all(axis=1).to_numpy()
    if blank.any():
        df, line = df[~blank].reset_index(drop=True), line[~blank]
    return RawFile(name, df, line, "line", layout)


def _read_parquet(name: str, path: Path, columns: list[str] | None) -> RawFile:
    try:
        df = pq.read_table(path).to_pandas()
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"{name}: unreadable Parquet file ({exc})") from None
    if not isinstance(df.index, pd.RangeIndex):
        df = df.reset_index()  # Databento's to_df() keeps ts_event as the index
    names = list(columns) if columns is not None else name_columns([str(c) for c in df.columns])
    if len(names) != len(df.columns):
        raise DataError(f"{name}: --columns names {len(names)} columns, the file has {len(df.columns)}")
    _check_names(names, name)
    keep = [i for i, n in enumerate(names) if n != "skip"]
    out = df.iloc[:, keep].copy()
    out.columns = [names[i] for i in keep]
    return RawFile(name, out.reset_index(drop=True), np.arange(1, len(out) + 1, dtype=np.int64), "row", "parquet")


def read_files(path: str | Path, columns: list[str] | None = None) -> list[RawFile]:
    """The bar tables in `path` (one, or one per CSV member of a zip), columns named, rows numbered."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    lower = path.name.lower()
    try:
        if lower.endswith(".parquet") or lower.endswith(".pq"):
            return [_read_parquet(str(path), path, columns)]
        if lower.endswith(".zip"):
            with zipfile.ZipFile(path) as zf:
                members = [m for m in zf.namelist() if not m.endswith("/") and not m.startswith("__MACOSX")]
                if not members:
                    raise DataError(f"{path}: the zip archive holds no files")
                return [_read_text(f"{path}:{m}", zf.read(m), columns) for m in sorted(members)]
        data = path.read_bytes()
        if lower.endswith(".gz"):
            data = gzip.decompress(data)
        return [_read_text(str(path), data, columns)]
    except (OSError, EOFError, zipfile.BadZipFile, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: cannot read the file ({exc})") from None
