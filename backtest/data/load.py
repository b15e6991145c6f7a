"""One entry point for every consumer of market data: `load_dataset(params, source, days)`.

- synthetic: generated from `params.synth` (seeded) starting at DEFAULT_START, so the same params give the same
  bars on every machine; nothing is read from disk. A market with a session calendar (xyz:XYZ100) gets the venue's
  off-session rules outside its session (`synth.off_session`, on by default, labelled in `provenance.off_session`).
- real: the most recent `days` of real bars in the store (`params.backtest.data_dir`); if the store does not cover
  the span, DataError says what is missing and how to get it. Never falls back to proxy or synthetic data.
- proxy: the most recent `days` of real and proxy bars (real HyperLiquid bars where recorded, an imported proxy's
  bars elsewhere: `python -m backtest.data import`), never a synthetic bar: the proxy's closed sessions stay gaps
  (labelled by the market's calendar in the provenance; `backtest.gaps` says how backtests treat them).
- hybrid: the same real and proxy bars, then labelled synthetic bars for every hole and the span before them
  (see `hybrid.py`).
The span ends at the newest bar of the sources a mode reads. Provenance carries the shares real / proxy / synthetic
(`schema.source_shares`), the labelled gaps and, with proxy bars, how they were mapped (`_proxy.json`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from backtest.config import REPO_ROOT, Params, interval_seconds
from backtest.data.hybrid import build_hybrid
from backtest.data.inspect import gap_summary
from backtest.data.offsession import OffSessionParams, closed_share
from backtest.data.schema import DataError, find_gaps, source_shares, validate_bars
from backtest.data.store import BarStore
from backtest.data.synth import DEFAULT_START, generate_bars
from backtest.venue.calendar import calendar_for
from backtest.venue.fees import venue_schedule
from backtest.venue.limits import CANDLE_HISTORY_LIMIT

DATA_SOURCES = ("real", "proxy", "synthetic", "hybrid")
MAX_MISSING_SESSION_HOURS = 1.0  # --data proxy: session hours the head of the span may lack before it is "too little"


@dataclass(frozen=True)
class Dataset:
    """Bars in the bar schema plus where they came from; `funding_hourly`: the archive's hourly funding rates over
    the span when imported (`backtest.data.funding`), for `Market.from_bars`."""

    bars: pd.DataFrame
    provenance: dict
    funding_hourly: pd.Series | None = None


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


def off_session_info(params: Params, bars: pd.DataFrame | None = None) -> dict[str, Any] | None:
    """How the synthetic part treats the market's closed sessions (None: a 24/7 market, or the mode is off)."""
    calendar = calendar_for(params.market.coin)
    off = OffSessionParams.for_market(calendar, params.synth.off_session)
    if off is None:
        return None
    info: dict[str, Any] = {**off.to_dict(), "rules": "venue off-session rules (backtest/data/offsession.py)"}
    if bars is not None:
        synth = bars[bars["source"] == "synthetic"]
        info["closed_share"] = closed_share(synth, calendar) if len(synth) else 0.0
    return info


def _how_to_get(days: float) -> str:
    return (
        "Get real bars with `python -m backtest.data fetch` (the API keeps only the latest "
        f"{CANDLE_HISTORY_LIMIT} candles) and build "
        "longer history with `python -m backtest.data record`; import a proxy index's minute bars with `python -m "
        "backtest.data import FILE` and run on `--data proxy` (real + proxy bars) or `--data hybrid` (real, proxy "
        f"and labelled synthetic bars), or `--data synthetic`; or ask for fewer days (now {days:g})."
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


def _real_and_proxy(params: Params, days: float, mode: str) -> tuple[pd.DataFrame, pd.Timestamp, pd.Timestamp, dict]:
    """Real bars of the span, and proxy bars at the bar times without a real one; the span ends at the newest of
    either. Returns (bars, start, end, the proxy folder's metadata or {})."""
    from backtest.data.vendor.importer import read_meta

    coin, interval = params.market.coin, params.backtest.interval
    step = pd.Timedelta(seconds=interval_seconds(interval))
    store = BarStore(data_root(params))
    lasts = [t for t in (store.last_timestamp(coin, interval, ns) for ns in ("real", "proxy")) if t is not None]
    if not lasts:
        raise DataError(
            f"no real or proxy {interval} bars for {coin} in {store.root} (requested the last {days:g} days for "
            f"--data {mode}). " + _how_to_get(days)
        )
    end = max(lasts) + step
    start = end - pd.Timedelta(days=days)
    real = store.read(coin, interval, "real", start=start, end=end)
    proxy = store.read(coin, interval, "proxy", start=start, end=end)
    meta = read_meta(store.folder(coin, interval, "proxy")) or {}
    if len(proxy) and not meta:
        raise DataError(
            f"{store.folder(coin, interval, 'proxy')} holds proxy bars but no {'_proxy.json'}: the import that wrote "
            "them was interrupted; rerun it (`python -m backtest.data import FILE...`)"
        )
    if len(real) and len(proxy):
        proxy = proxy[~proxy["timestamp"].isin(real["timestamp"])]
    bars = pd.concat([real, proxy], ignore_index=True).sort_values("timestamp", kind="stable").reset_index(drop=True)
    return bars, start, end, meta


def proxy_info(meta: dict) -> dict | None:
    if not meta:
        return None
    imports = meta.get("imports", [])
    return {
        "symbol": meta.get("symbol"),
        "transform": meta.get("transform"),
        "files": [f["path"] for imp in imports for f in imp.get("files", [])],
        "imported": [imp.get("at") for imp in imports],
    }


def _provenance(bars: pd.DataFrame, params: Params, kind: str, start, end, **extra: Any) -> dict:
    counts = {str(k): int(v) for k, v in bars["source"].value_counts().items()}
    shares = source_shares(bars["source"])
    interval = params.backtest.interval
    return {
        "source": kind,
        "share_real": shares["real"],
        "share_proxy": shares["proxy"],
        "share_synthetic": shares["synthetic"],
        "counts": counts,
        "n_bars": len(bars),
        "seed": params.synth.seed if kind in ("synthetic", "hybrid") else None,
        "coin": params.market.coin,
        "interval": interval,
        "start": pd.Timestamp(start).isoformat(),
        "end": pd.Timestamp(end).isoformat(),
        "gaps": len(find_gaps(bars, interval_seconds(interval))),
        "gap_labels": gap_summary(bars, interval_seconds(interval), calendar_for(params.market.coin)),
        "edge": edge_info(params) if kind in ("synthetic", "hybrid") else None,
        "off_session": off_session_info(params, bars) if kind in ("synthetic", "hybrid") else None,
        "fees": venue_schedule(params).to_dict(),  # what the venue charges this market (venue/fees.py)
        **extra,
    }


def load_dataset(params: Params, source: str | None = None, days: float | None = None) -> Dataset:
    """Bars for a backtest or training run; `source` defaults to params.backtest.data_source, days to .days.

    Real, proxy and hybrid data carry the funding rates of an imported archive over their span, when there are any
    (`backtest.data.funding`); synthetic data the configured constant.
    """
    ds = _load(params, source, days)
    if ds.provenance["source"] == "synthetic":
        return ds
    from backtest.data.funding import funding_for_span

    end = ds.bars["timestamp"].iloc[-1] + pd.Timedelta(seconds=params.backtest.bar_seconds)
    rates, info = funding_for_span(data_root(params), params.market.coin, ds.bars["timestamp"].iloc[0], end)
    return Dataset(ds.bars, {**ds.provenance, "funding": info}, rates)


def _load(params: Params, source: str | None, days: float | None) -> Dataset:
    source = source or params.backtest.data_source
    days = float(days if days is not None else params.backtest.days)
    if source not in DATA_SOURCES:
        raise DataError(f"unknown data source {source!r}; allowed: {DATA_SOURCES}")
    if days <= 0:
        raise DataError(f"days must be positive, got {days}")
    interval_s = interval_seconds(params.backtest.interval)
    if source == "synthetic":
        n = round(days * 86400 / interval_s)
        calendar = calendar_for(params.market.coin)
        bars = generate_bars(n, params.synth, start=DEFAULT_START, interval_s=interval_s, calendar=calendar)
        bars = validate_bars(bars, "synthetic")
        end = DEFAULT_START + pd.Timedelta(seconds=n * interval_s)
        return Dataset(bars, _provenance(bars, params, "synthetic", DEFAULT_START, end))
    if source == "real":
        real, start, end = _real_span(params, days)
        first = real["timestamp"].iloc[0]
        if first - start >= pd.Timedelta(seconds=interval_s):
            avail = (end - first).total_seconds() / 86400
            raise DataError(
                f"real data covers too little: requested {days:g} days ({start} .. {end}), the store has "
                f"{first} .. {end} ({avail:.2f} days, {len(real)} bars) for {params.market.coin} "
                f"{params.backtest.interval}; missing {start} .. {first}. " + _how_to_get(days)
            )
        return Dataset(real, _provenance(real, params, "real", start, end))
    bars, start, end, meta = _real_and_proxy(params, days, source)
    if source == "proxy":
        _check_proxy_head(bars, params, start, end, days, interval_s)
        return Dataset(bars, _provenance(bars, params, "proxy", start, end, proxy=proxy_info(meta)))
    bars, cfg, fill = build_hybrid(bars, params, start, interval_s)
    prov = _provenance(bars, params, "hybrid", start, end, real_weight=params.backtest.real_weight, synth_config=cfg,
                       fill=fill, proxy=proxy_info(meta))  # fmt: skip
    return Dataset(bars, prov)


def _check_proxy_head(bars: pd.DataFrame, params: Params, start, end, days: float, interval_s: int) -> None:
    """--data proxy never invents bars: a span whose head lacks more than MAX_MISSING_SESSION_HOURS of the market's
    session hours is refused, saying what is missing (closed hours before the first bar are fine)."""
    import numpy as np

    first = bars["timestamp"].iloc[0] if len(bars) else end
    slots = np.arange(pd.Timestamp(start).value // 1_000_000, pd.Timestamp(first).value // 1_000_000,
                      interval_s * 1000, dtype=np.int64)  # fmt: skip
    missing_h = float(calendar_for(params.market.coin).is_open(slots).sum()) * interval_s / 3600
    if missing_h > MAX_MISSING_SESSION_HOURS:
        avail = (end - first).total_seconds() / 86400
        raise DataError(
            f"real and proxy data cover too little: requested {days:g} days ({start} .. {end}), the store has "
            f"{first} .. {end} ({avail:.2f} days, {len(bars)} bars) for {params.market.coin} "
            f"{params.backtest.interval}; missing {start} .. {first} ({missing_h:.0f} session hours). "
            + _how_to_get(days)
        )
