"""Funding history from HyperLiquid's archive, read from a local copy (`python -m backtest.data funding FILE...`).

The archive (s3 `hyperliquid-archive`, requester pays: download it yourself) holds daily `asset_ctxs` CSVs, one row
per asset context snapshot: time, coin, funding, open_interest, prev_day_px, day_ntl_vlm, premium, oracle_px, mark_px,
mid_px, impact_bid_px, impact_ask_px. The files come as `.csv.lz4` (read here), `.csv.gz` or `.csv`. Nothing here
touches the network.

The rate paid at an hour boundary H is the last `funding` snapshot before H (HyperLiquid charges funding hourly at
the rate of the hour that ends). The hourly rates of a coin are stored in `<data_dir>/funding/<coin>.parquet` (hour,
funding, mark, oracle, open interest), merged by hour and written atomically. `load_dataset` hands them to
`Market.from_bars`, which charges them instead of `backtest.funding_rate_hourly` for the hours they cover, and the
provenance says how many hours of the span they cover.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from backtest.data.schema import DataError
from backtest.data.store import atomic_write_table, coin_key

HOUR_MS = 3_600_000
COLUMNS = ("hour", "funding", "mark_px", "oracle_px", "open_interest")


def funding_path(root: Path, coin: str) -> Path:
    return Path(root) / "funding" / f"{coin_key(coin)}.parquet"


def _text(path: Path) -> bytes:
    data = path.read_bytes()
    name = path.name.lower()
    if name.endswith(".lz4"):
        import lz4.frame

        return lz4.frame.decompress(data)
    if name.endswith(".gz"):
        return gzip.decompress(data)
    return data


def read_asset_ctxs(path: str | Path, coin: str) -> pd.DataFrame:
    """The snapshots of `coin` in one archive file: time (int64 ms UTC), funding, mark_px, oracle_px, open_interest."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        df = pd.read_csv(io.BytesIO(_text(path)), dtype={"coin": str})
    except (OSError, ValueError, RuntimeError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: not a readable asset_ctxs CSV ({' '.join(str(exc).split())})") from None
    missing = [c for c in ("time", "coin", "funding") if c not in df.columns]
    if missing:
        raise DataError(f"{path}: columns {missing} missing; an asset_ctxs file has time, coin, funding, ...")
    line = np.arange(len(df)) + 2
    mine = (df["coin"].astype(str) == coin).to_numpy()
    df, line = df[mine].reset_index(drop=True), line[mine]
    t = pd.to_datetime(df["time"], utc=True, errors="coerce", format="mixed")
    if pd.api.types.is_numeric_dtype(df["time"].dtype):
        t = pd.to_datetime(df["time"], unit="ms", utc=True, errors="coerce")
    rate = pd.to_numeric(df["funding"], errors="coerce").to_numpy(np.float64)
    bad = t.isna().to_numpy() | ~np.isfinite(rate)
    if bad.any():
        rows = ", ".join(f"line {n}" for n in line[bad][:5])
        raise DataError(f"{path}: {int(bad.sum())} {coin} row(s) with an unparsable time or funding ({rows})")
    out = pd.DataFrame({"time": t.dt.as_unit("ms").astype("int64").to_numpy(), "funding": rate})
    for col in ("mark_px", "oracle_px", "open_interest"):
        out[col] = pd.to_numeric(df[col], errors="coerce").to_numpy(np.float64) if col in df else np.nan
    return out


def hourly(snapshots: pd.DataFrame) -> pd.DataFrame:
    """Per hour boundary H: the last snapshot before H (the rate paid at H), with its mark, oracle, open interest."""
    s = snapshots.sort_values("time", kind="stable")
    hour = (s["time"].to_numpy() // HOUR_MS + 1) * HOUR_MS  # a snapshot in [H - 1h, H) sets the rate paid at H
    last = np.r_[hour[1:] != hour[:-1], True]
    return pd.DataFrame({"hour": hour[last], **{c: s[c].to_numpy()[last] for c in COLUMNS[1:]}})


def import_funding(paths: list[str | Path], root: Path, coin: str) -> tuple[pd.DataFrame, Path]:
    """Read archive files, keep `coin`, store its hourly rates merged with what is stored; returns (stored, path)."""
    snaps = [read_asset_ctxs(p, coin) for p in paths]
    snaps = [s for s in snaps if len(s)]
    if not snaps:
        raise DataError(f"{', '.join(str(p) for p in paths)}: no rows for {coin!r} (the archive names HIP-3 coins "
                        "with their dex prefix, e.g. xyz:XYZ100)")  # fmt: skip
    new = hourly(pd.concat(snaps, ignore_index=True))
    path = funding_path(root, coin)
    old = stored_funding(root, coin)
    both = pd.concat([old, new], ignore_index=True) if old is not None else new
    both = both.drop_duplicates("hour", keep="last").sort_values("hour").reset_index(drop=True)
    atomic_write_table(pa.Table.from_pandas(both, preserve_index=False), path)
    return both, path


def stored_funding(root: Path, coin: str) -> pd.DataFrame | None:
    path = funding_path(root, coin)
    if not path.is_file():
        return None
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise DataError(f"{path}: unreadable funding file ({exc}); delete it and import the archive again") from None


def funding_for_span(root: Path, coin: str, start: pd.Timestamp, end: pd.Timestamp) -> tuple[pd.Series | None, dict]:
    """(hourly rates indexed by hour for `Market.from_bars`, provenance) over [start, end)."""
    df = stored_funding(root, coin)
    hours = max(1, int((pd.Timestamp(end) - pd.Timestamp(start)).total_seconds() // 3600))
    if df is None:
        return None, {"source": "backtest.funding_rate_hourly (no archive imported)"}
    lo, hi = pd.Timestamp(start).value // 1_000_000, pd.Timestamp(end).value // 1_000_000
    span = df[(df["hour"] >= lo) & (df["hour"] < hi)]
    if len(span) == 0:
        return None, {"source": "backtest.funding_rate_hourly (the archive does not cover the span)"}
    series = pd.Series(span["funding"].to_numpy(), index=pd.to_datetime(span["hour"].to_numpy(), unit="ms", utc=True))
    info = {"source": "hyperliquid archive asset_ctxs", "hours": len(span), "coverage": min(1.0, len(span) / hours),
            "mean_hourly": float(span["funding"].mean())}  # fmt: skip
    return series, info
