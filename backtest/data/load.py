"""One entry point for every consumer of market data: `load_dataset(params, source, days)`.

- synthetic: generated from `params.synth` (seeded) starting at DEFAULT_START, so the same params give the same
  bars on every machine; nothing is read from disk.
- real: the most recent `days` of real bars in the store (`params.backtest.data_dir`); if the store does not cover
  the span, DataError says what is missing and how to get it. Never falls back to synthetic data.
- hybrid: the real bars of that span plus calibrated synthetic bars before them (see `hybrid.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from backtest.config import REPO_ROOT, Params, interval_seconds
from backtest.data.hybrid import build_hybrid
from backtest.data.schema import REAL_SOURCES, DataError, find_gaps, validate_bars
from backtest.data.store import BarStore
from backtest.data.synth import DEFAULT_START, generate_bars

DATA_SOURCES = ("real", "synthetic", "hybrid")


@dataclass(frozen=True)
class Dataset:
    """Bars in the bar schema plus where they came from."""

    bars: pd.DataFrame
    provenance: dict


def data_root(params: Params) -> Path:
    """The store root: `params.backtest.data_dir`, relative paths taken from the repository root."""
    root = Path(params.backtest.data_dir)
    return root if root.is_absolute() else REPO_ROOT / root


def edge_info(params: Params) -> dict[str, Any]:
    """What edge the synthetic part carries (see backtest/data/synth.py)."""
    edge = params.synth.edge
    return {
        "enabled": edge.enabled,
        "strength": edge.strength if edge.enabled else 0.0,
        "trend_drift_bps": params.synth.trend_drift_bps if edge.enabled else 0.0,
        "kind": "ar1_trend_regimes" if edge.enabled else "none (martingale)",
    }


def _how_to_get(days: float) -> str:
    return (
        "Get real bars with `python -m backtest.data fetch` (the API keeps only the latest 5000 candles) and build "
        "longer history with `python -m backtest.data record`; or run on `--data hybrid` (real bars plus calibrated "
        f"synthetic ones) or `--data synthetic`, or ask for fewer days (now {days:g})."
    )


def _real_span(params: Params, days: float) -> tuple[pd.DataFrame, pd.Timestamp, pd.Timestamp]:
    """Stored real bars of the most recent `days` ending at the newest stored bar, with the requested span."""
    coin, interval = params.market.coin, params.backtest.interval
    step = pd.Timedelta(seconds=interval_seconds(interval))
    store = BarStore(data_root(params))
    last = store.last_timestamp(coin, interval, "real")
    if last is None:
        raise DataError(
            f"no real {interval} bars for {coin} in {store.folder(coin, interval, 'real')} "
            f"(requested the last {days:g} days). " + _how_to_get(days)
        )
    end = last + step
    start = end - pd.Timedelta(days=days)
    return store.read(coin, interval, "real", start=start, end=end), start, end


def _provenance(bars: pd.DataFrame, params: Params, kind: str, start, end, **extra: Any) -> dict:
    counts = {str(k): int(v) for k, v in bars["source"].value_counts().items()}
    n_real = sum(counts.get(s, 0) for s in REAL_SOURCES)
    interval = params.backtest.interval
    return {
        "source": kind,
        "share_real": n_real / len(bars) if len(bars) else 0.0,
        "counts": counts,
        "n_bars": len(bars),
        "seed": params.synth.seed if kind != "real" else None,
        "coin": params.market.coin,
        "interval": interval,
        "start": pd.Timestamp(start).isoformat(),
        "end": pd.Timestamp(end).isoformat(),
        "gaps": len(find_gaps(bars, interval_seconds(interval))),
        "edge": edge_info(params) if kind != "real" else None,
        **extra,
    }


def load_dataset(params: Params, source: str | None = None, days: float | None = None) -> Dataset:
    """Bars for a backtest or training run; `source` defaults to params.backtest.data_source, days to .days."""
    source = source or params.backtest.data_source
    days = float(days if days is not None else params.backtest.days)
    if source not in DATA_SOURCES:
        raise DataError(f"unknown data source {source!r}; allowed: {DATA_SOURCES}")
    if days <= 0:
        raise DataError(f"days must be positive, got {days}")
    interval_s = interval_seconds(params.backtest.interval)
    if source == "synthetic":
        n = round(days * 86400 / interval_s)
        bars = validate_bars(generate_bars(n, params.synth, start=DEFAULT_START, interval_s=interval_s), "synthetic")
        end = DEFAULT_START + pd.Timedelta(seconds=n * interval_s)
        return Dataset(bars, _provenance(bars, params, "synthetic", DEFAULT_START, end))
    real, start, end = _real_span(params, days)
    if source == "real":
        first = real["timestamp"].iloc[0]
        if first - start >= pd.Timedelta(seconds=interval_s):
            avail = (end - first).total_seconds() / 86400
            raise DataError(
                f"real data covers too little: requested {days:g} days ({start} .. {end}), the store has "
                f"{first} .. {end} ({avail:.2f} days, {len(real)} bars) for {params.market.coin} "
                f"{params.backtest.interval}; missing {start} .. {first}. " + _how_to_get(days)
            )
        return Dataset(real, _provenance(real, params, "real", start, end))
    bars, cfg = build_hybrid(real, params, start, interval_s)
    prov = _provenance(bars, params, "hybrid", start, end, real_weight=params.backtest.real_weight, synth_config=cfg)
    return Dataset(bars, prov)
