"""Vendor-style NQ minute-bar files of SYNTHETIC prices, in each layout the importer reads.

For tests, the import bench and trying `python -m backtest.data import` without a vendor subscription. The prices
come from the seeded synthetic generator, kept only inside the CME Globex session (`backtest.venue.calendar`),
lifted from spot to the front NQ contract's futures level (F = S * exp((r - q) * T), the calendar roll rule of
`transform.py`) and rounded to NQ's 0.25 tick. They are not market data: import them only into a scratch
`--data-dir`, never into the store you backtest or trade on.

    python -m backtest.data.vendor.samples --layout firstrate --days 730 /tmp/nq_2y.csv

Layouts: `databento` (CSV: `ts_event` ns UTC, fixed-point prices, contract codes), `databento-parquet` (float
prices, `ts_event` index), `firstrate` (no header, `YYYY-MM-DD HH:MM:SS` US/Eastern), `kibot` (no header,
`MM/DD/YYYY,HH:MM` US/Eastern), `tradingview` (header, `time` in epoch seconds UTC).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from backtest.config import load_params
from backtest.data.synth import generate_bars
from backtest.data.vendor.transform import DEFAULT_R_MINUS_Q, DEFAULT_ROLL_DAYS, front_expiry_ms
from backtest.venue.calendar import calendar_for

LAYOUTS = ("databento", "databento-parquet", "firstrate", "kibot", "tradingview")
TICK = 0.25
_MONTH_CODE = {3: "H", 6: "M", 9: "U", 12: "Z"}


def session_bars(start: str, days: float, seed: int = 7, level: float = 20_000.0) -> pd.DataFrame:
    """Synthetic spot 1m bars (UTC open times, int64 ms in `ts`) over `days` from `start`, CME session only."""
    params = load_params(overrides=[f"synth.seed={seed}", f"synth.start_price={level}", "synth.edge.enabled=false"])
    t0 = pd.Timestamp(start, tz="UTC")
    bars = generate_bars(int(days * 1440), params.synth, start=t0, interval_s=60)
    ts = bars["timestamp"].to_numpy(dtype="datetime64[ms]").view(np.int64)
    keep = calendar_for("xyz:XYZ100").is_open(ts)
    out = bars[keep].reset_index(drop=True)
    out.insert(0, "ts", ts[keep])
    out["volume"] = np.maximum(1, np.round(out["volume"].to_numpy() * 40)).astype(np.int64)
    return out


def to_futures(bars: pd.DataFrame, r_minus_q: float = DEFAULT_R_MINUS_Q) -> tuple[pd.DataFrame, np.ndarray]:
    """Spot bars lifted to the front contract's level and rounded to the tick; plus each bar's contract code."""
    ts = bars["ts"].to_numpy()
    expiry = front_expiry_ms(ts, DEFAULT_ROLL_DAYS)
    lift = np.exp(r_minus_q * (expiry - ts) / (365.0 * 86_400_000))
    out = bars.copy()
    for col in ("open", "high", "low", "close"):
        out[col] = np.round(out[col].to_numpy() * lift / TICK) * TICK
    exp_dates = pd.to_datetime(expiry, unit="ms", utc=True)
    codes = np.array([f"NQ{_MONTH_CODE[m]}{y % 10}" for m, y in zip(exp_dates.month, exp_dates.year)], dtype=object)
    return out, codes


def _et(ts_ms: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(ts_ms, unit="ms", utc=True)).tz_convert("America/New_York")


def write_sample(path: str | Path, layout: str, start: str = "2024-01-02", days: float = 730.0, seed: int = 7) -> int:
    """Write a sample file (`.gz` suffix compresses a CSV); returns the number of bars written."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fut, codes = to_futures(session_bars(start, days, seed))
    px = {c: fut[c].to_numpy() for c in ("open", "high", "low", "close")}
    vol = fut["volume"].to_numpy()
    if layout in ("firstrate", "kibot"):
        local = _et(fut["ts"].to_numpy())
        if layout == "firstrate":
            stamp = {"t": local.strftime("%Y-%m-%d %H:%M:%S")}
        else:
            stamp = {"d": local.strftime("%m/%d/%Y"), "t": local.strftime("%H:%M")}
        frame = pd.DataFrame({**stamp, **px, "volume": vol})
        frame.to_csv(path, header=False, index=False, float_format="%.2f")
    elif layout == "databento":
        frame = pd.DataFrame({"ts_event": fut["ts"].to_numpy() * 1_000_000, "rtype": 33, "publisher_id": 1,
                              "instrument_id": 5602, **{c: np.round(v * 1e9).astype(np.int64) for c, v in px.items()},
                              "volume": vol, "symbol": codes})  # fmt: skip
        frame.to_csv(path, index=False)
    elif layout == "databento-parquet":
        idx = pd.DatetimeIndex(pd.to_datetime(fut["ts"].to_numpy(), unit="ms", utc=True).as_unit("ns"), name="ts_event")
        frame = pd.DataFrame({"rtype": 33, "publisher_id": 1, "instrument_id": 5602, **px, "volume": vol,
                              "symbol": codes}, index=idx)  # fmt: skip
        frame.to_parquet(path)
    else:  # tradingview
        frame = pd.DataFrame({"time": fut["ts"].to_numpy() // 1000, **px, "Volume": vol})
        frame.to_csv(path, index=False, float_format="%.2f")
    return len(fut)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m backtest.data.vendor.samples", description=__doc__.split("\n\n")[0])
    p.add_argument("out", help="file to write (.csv, .csv.gz, .txt; .parquet for databento-parquet)")
    p.add_argument("--layout", choices=LAYOUTS, default="firstrate")
    p.add_argument("--start", default="2024-01-02", help="first day (UTC), default 2024-01-02")
    p.add_argument("--days", type=float, default=730.0, help="calendar days (default 730: two years)")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args(argv)
    n = write_sample(args.out, args.layout, args.start, args.days, args.seed)
    print(f"wrote {n:,} {args.layout} bars of SYNTHETIC NQ-style prices to {args.out}: for trying the import "
          "only, into a scratch --data-dir")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
