"""`import_files`: vendor files -> checked, merged, mapped proxy bars in the store's `proxy/` namespace.

Order of work (nothing is written until every file has passed every check):
1. read each file (`read.py`), parse its timestamps (`clock.py`), place them in UTC with the zone and bar stamp
   given or found against the market's session calendar (`session.py`);
2. row checks naming file and line (`checks.py`); bars in the futures' closed hours refuse the file;
3. merge the files (identical overlaps merged, disagreeing ones named);
4. map the level to the market's (`transform.py`); a folder that already holds proxy bars keeps its transform;
5. compare with the stored proxy bars: bars already there unchanged are skipped, different ones refuse the import;
6. append the new bars (atomic per day file, with the store's interrupted-append marker), then record the import
   and the transform in `_proxy.json` beside them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backtest.config import interval_seconds
from backtest.data.inspect import gap_summary
from backtest.data.schema import DataError, conform, timestamps_ms, validate_bars
from backtest.data.store import BarStore
from backtest.data.vendor.checks import Problems, check_interval, check_order, check_values, merge_files, numbers
from backtest.data.vendor.clock import parse_stamps
from backtest.data.vendor.read import RawFile, read_files
from backtest.data.vendor.session import fit_session, tolerance
from backtest.data.vendor.transform import Transform, build_transform, contract_expiry_ms
from backtest.venue.calendar import calendar_for
from cluster.atomic import atomic_write_json

META = "_proxy.json"


@dataclass
class ImportOptions:
    """What `import_files` does; the CLI fills `to` and `interval` from the params (market.coin, backtest.interval)."""

    to: str
    interval: str
    symbol: str = "NQ"
    columns: list[str] | None = None
    tz: str | None = None
    ts_unit: str | None = None
    ts_format: str | None = None
    bar_stamp: str | None = None
    r_minus_q: float | None = None
    roll_days: int | None = None
    ratio: float | None = None
    price_scale: float | None = None
    dry_run: bool = False


@dataclass
class ImportReport:
    files: list[dict[str, Any]]
    bars: int
    duplicates: int
    new: int
    unchanged: int
    first: str
    last: str
    transform: Transform
    folder: Path
    gaps: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0
    dry_run: bool = False

    def lines(self) -> list[str]:
        out = []
        for f in self.files:
            notes = "".join(f"\n    note: {n}" for n in f["notes"])
            out.append(f"  {f['name']}: {f['rows']:,} rows; columns by {f['layout']}; timestamps {f['timestamps']}"
                       f"{'' if f['tz'] is None else ' in ' + f['tz']}; bar stamp {f['stamp']}{notes}")  # fmt: skip
        gaps = ", ".join(
            f"{k.replace('_', ' ')} {v['gaps']:,} ({v['missing_bars']:,} bars)" for k, v in self.gaps.items()
        )
        verb = "would add (dry run, nothing written)" if self.dry_run else "added"
        out += [
            f"  bars: {self.bars:,} ({self.first} .. {self.last}), {self.duplicates:,} identical duplicate rows merged",
            f"  {verb} {self.new:,} new bars, {self.unchanged:,} already stored and unchanged; source label 'proxy'",
            f"  level: {self.transform.describe()}",
            f"  gaps left as gaps (never filled here): {gaps or 'none'}",
            f"  store: {self.folder} ({self.seconds:.1f} s)",
        ]
        return out


def read_meta(folder: Path) -> dict[str, Any] | None:
    path = folder / META
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        raise DataError(f"{path}: unreadable proxy metadata; delete the folder and import the files again") from None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _price_scale(raw: RawFile, opts: ImportOptions) -> float:
    if opts.price_scale is not None:
        return float(opts.price_scale)
    f = raw.frame
    fixed_point = pd.api.types.is_integer_dtype(f["close"].dtype) and float(f["close"].abs().median()) > 1e8
    if raw.layout in ("header", "parquet") and fixed_point:  # Databento's raw prices: 1 unit = 1e-9
        raw.notes.append("prices are fixed-point integers (1 unit = 1e-9, Databento's raw form): scaled")
        return 1e-9
    return 1.0


def _load_file(raw: RawFile, index: int, opts: ImportOptions, cal, interval_ms: int, problems: Problems):
    """One file's good rows (ts ms, values, `file` index and `line`) and a report dict."""
    name = raw.where
    try:
        stamps = parse_stamps(raw, opts.ts_unit, opts.ts_format)
        ms, unresolved, fit = fit_session(stamps, interval_ms, cal, opts.tz, opts.bar_stamp)
    except ValueError as exc:
        raise DataError(f"{raw.name}: {exc}") from None
    raw.notes += stamps.notes + fit.notes
    f = raw.frame
    bad = np.flatnonzero(stamps.bad)
    text = [f["timestamp"].iloc[i] if "timestamp" in f else f"{f['date'].iloc[i]} {f['time'].iloc[i]}" for i in bad[:3]]
    problems.add("unparsable timestamp", [f"{name(int(i))} ({t!r})" for i, t in zip(bad, text)], len(bad))
    problems.add_rows(f"local time does not exist or happens twice in {fit.tz} (a DST change)", unresolved, name)
    ok = ~stamps.bad & ~unresolved
    if fit.closed > tolerance(int(ok.sum())):
        _closed_hours(raw, fit, ms, opts, problems)
    elif fit.closed:
        raw.notes.append(f"{fit.closed} bar(s) in the CME daily break or weekend kept (stray prints, within tolerance)")
    if fit.holiday_bars:
        raw.notes.append(f"{fit.holiday_bars:,} bar(s) in CME holiday hours kept")
    scale = _price_scale(raw, opts)
    values = {c: numbers(raw.frame, c, problems, name) * (scale if c != "volume" else 1.0)
              for c in ("open", "high", "low", "close")}  # fmt: skip
    values["volume"] = numbers(raw.frame, "volume", problems, name) if "volume" in raw.frame else np.zeros(len(ms))
    check_values(values, problems, name)
    check_order(ms, ok, problems, name)
    check_interval(ms, ok, interval_ms, opts.interval, raw.name, problems, name)
    frame = pd.DataFrame({"ts": ms, **values})
    frame["trades"] = numbers(raw.frame, "trades", problems, name) if "trades" in raw.frame else 0.0
    if "symbol" in raw.frame:
        frame["symbol"] = raw.frame["symbol"].astype(str).to_numpy()
    frame["file"] = index
    frame["line"] = raw.lines
    report = {"name": raw.name, "rows": len(raw.frame), "layout": raw.layout, "timestamps": stamps.how,
              "tz": fit.tz, "stamp": fit.stamp, "notes": raw.notes}  # fmt: skip
    return frame[ok].reset_index(drop=True), report


def _closed_hours(raw: RawFile, fit, ms: np.ndarray, opts: ImportOptions, problems: Problems) -> None:
    shown = []
    for i in fit.closed_rows[:3]:
        et = pd.Timestamp(int(ms[i]), unit="ms", tz="UTC").tz_convert("America/New_York")
        shown.append(f"{raw.where(int(i))} ({et:%a %Y-%m-%d %H:%M} ET)")
    clean = [k for k, n in fit.alternatives.items() if n <= tolerance(len(ms)) // 4 and k != (fit.tz, fit.stamp)]
    hint = ""
    if clean:
        zone, stamp = clean[0]
        hint = f"; the bars fit {'--tz ' + zone + ' ' if zone else ''}--bar-stamp {stamp}"
    zone = f"--tz {fit.tz}" if fit.tz else "UTC"
    if fit.tz and not opts.tz and not clean:  # local times and no candidate zone fits: say it was the best guess
        tried = ", ".join(sorted({str(z) for z, _ in fit.alternatives}))
        zone = f"{fit.tz} (the best of {tried}; none fits: give --tz, e.g. a broker's server zone)"
    problems.add(f"bar in the futures' daily break or weekend read as {zone}, bar stamp {fit.stamp}{hint}",
                 shown, fit.closed)  # fmt: skip


def import_files(paths: list[str | Path], store: BarStore, opts: ImportOptions) -> ImportReport:
    """Check, merge, map and store the bars of `paths` (see the module docstring); DataError names bad rows."""
    t0 = datetime.now(UTC)
    interval_s = interval_seconds(opts.interval)
    interval_ms = interval_s * 1000
    cal = calendar_for(opts.to)
    if opts.bar_stamp not in (None, "open", "close"):
        raise DataError(f"--bar-stamp must be open or close, got {opts.bar_stamp!r}")
    problems = Problems()
    raws = [raw for p in paths for raw in read_files(p, opts.columns)]
    loaded = [_load_file(raw, k, opts, cal, interval_ms, problems) for k, raw in enumerate(raws)]
    problems.raise_if_any(len(raws))
    merged = merge_files([f for f, _ in loaded], lambda k, line: f"{raws[k].name} {raws[k].unit} {line}", problems)
    problems.raise_if_any(len(raws))
    frame = merged.frame
    if len(frame) == 0:
        raise DataError(f"{', '.join(str(p) for p in paths)}: no bars to import")
    ts = frame["ts"].to_numpy(dtype=np.int64)
    folder = store.folder(opts.to, opts.interval, "proxy")
    meta = read_meta(folder)
    expiry = contract_expiry_ms(frame["symbol"], ts) if "symbol" in frame else None
    transform = _transform(meta, frame, ts, expiry, store, opts, cal, interval_ms)
    factor = transform.factor(ts, expiry)
    bars = pd.DataFrame({"timestamp": ts, **{c: frame[c].to_numpy() * factor for c in ("open", "high", "low", "close")},
                         "volume": frame["volume"].to_numpy(), "trades": frame["trades"].to_numpy().astype(np.int64),
                         "source": "proxy"})  # fmt: skip
    bars = validate_bars(conform(bars), name="proxy bars")
    new, unchanged = _against_store(bars, store, opts, interval_ms)
    report = ImportReport(
        files=[r for _, r in loaded], bars=len(bars), duplicates=merged.duplicates, new=len(new),
        unchanged=unchanged, first=str(bars["timestamp"].iloc[0]), last=str(bars["timestamp"].iloc[-1]),
        transform=transform, folder=folder, gaps=gap_summary(bars, interval_s, cal), dry_run=opts.dry_run,
    )  # fmt: skip
    if not opts.dry_run and (len(new) or meta is None):  # the same files again: the store is left untouched
        store.append(new, opts.to, opts.interval)
        _record(folder, meta, transform, paths, report, opts)
    report.seconds = (datetime.now(UTC) - t0).total_seconds()
    return report


def _transform(meta, frame, ts, expiry, store, opts, cal, interval_ms) -> Transform:
    if meta is not None:
        stored = Transform.from_dict(meta["transform"])
        asked = {"--symbol": (opts.symbol.upper(), stored.symbol.upper()), "--r-q": (opts.r_minus_q, stored.r_minus_q),
                 "--roll-days": (opts.roll_days, stored.roll_days), "--ratio": (opts.ratio, stored.ratio)}  # fmt: skip
        differ = [f"{k} {a} (stored: {b})" for k, (a, b) in asked.items() if a is not None and a != b]
        if differ:
            raise DataError(
                f"{store.folder(opts.to, opts.interval, 'proxy')} holds proxy bars mapped with another transform "
                f"({'; '.join(differ)}); one folder has one transform: delete the folder and import every file "
                "again, or import into another --data-dir"
            )
        return stored
    first, last = int(ts[0]), int(ts[-1]) + interval_ms
    real = store.read(opts.to, opts.interval, "real", start=pd.Timestamp(first, unit="ms", tz="UTC"),
                      end=pd.Timestamp(last, unit="ms", tz="UTC"))  # fmt: skip
    return build_transform(opts.symbol, opts.to, ts, frame["close"].to_numpy(np.float64), expiry, real,
                           cal.is_open(ts), opts.r_minus_q, opts.roll_days, opts.ratio)  # fmt: skip


def _against_store(bars: pd.DataFrame, store: BarStore, opts: ImportOptions, interval_ms: int):
    """(bars not stored yet, number stored and identical); stored bars that differ refuse the import."""
    ts = timestamps_ms(bars)
    stored = store.read(opts.to, opts.interval, "proxy", start=bars["timestamp"].iloc[0],
                        end=bars["timestamp"].iloc[-1] + pd.Timedelta(milliseconds=interval_ms),
                        incomplete_ok=True)  # fmt: skip
    if len(stored) == 0:
        return bars, 0
    _, bi, si = np.intersect1d(ts, timestamps_ms(stored), assume_unique=True, return_indices=True)
    cols = ["open", "high", "low", "close", "volume", "trades"]
    a = bars[cols].to_numpy(np.float64)[bi]
    b = stored[cols].to_numpy(np.float64)[si]
    differ = np.flatnonzero(~np.isclose(a, b, rtol=1e-12, atol=0.0).all(axis=1))
    if len(differ):
        ex = "; ".join(
            f"{bars['timestamp'].iloc[bi[i]]} close {a[i, 3]:.4f} (stored {b[i, 3]:.4f})" for i in differ[:3]
        )
        raise DataError(
            f"import refused, nothing written: {len(differ):,} bar(s) differ from the proxy bars already stored in "
            f"{store.folder(opts.to, opts.interval, 'proxy')} (e.g. {ex}); a vendor revision or another transform: "
            "delete the folder and import every file again"
        )
    fresh = np.ones(len(bars), dtype=bool)
    fresh[bi] = False
    if store.pending_days(opts.to, opts.interval, "proxy"):  # an interrupted import: rewrite its days to complete it
        fresh[:] = True
    return bars[fresh].reset_index(drop=True), int((~fresh).sum())


def _record(folder: Path, meta, transform: Transform, paths, report: ImportReport, opts: ImportOptions) -> None:
    meta = meta or {"version": 1, "coin": opts.to, "interval": opts.interval, "symbol": transform.symbol,
                    "transform": transform.to_dict(), "imports": []}  # fmt: skip
    meta["imports"].append({
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": [{"path": str(Path(p).resolve()), "sha256": _sha256(Path(p))} for p in paths],
        "layouts": report.files, "bars": report.bars, "new": report.new, "unchanged": report.unchanged,
        "first": report.first, "last": report.last,
    })  # fmt: skip
    atomic_write_json(folder / META, meta)
