"""Data for RL: load bars, compute causal features, split by time, fit normalisation on the training span only.

Splits are by time (`rl.splits`).

`prepare` caches its result per process (keyed by params, source, days) so every env on a worker and the trainer's
validation share one copy; a remote worker recomputes the same deterministic arrays. A caller that already holds the
bars (a sweep's driver, whose trials may run on nodes without the data store) passes them as `dataset`: nothing is
read from disk then, and envs built later in that process find the cached result under the same key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from backtest.config import Params
from rl.obs import normalise_features
from rl.splits import Splits, split_spans


@dataclass
class Prepared:
    """Everything training, validation and backtests need, computed once."""

    bars: Any  # pandas DataFrame of OHLCV bars
    market: Any  # backtest.sim.Market
    raw_features: np.ndarray  # float32 [T, F], causal
    features: np.ndarray  # float32 [T, F], normalised with training-span statistics
    norm: Any  # backtest.features.NormStats fitted on the training span
    feature_names: list[str]
    splits: Splits
    provenance: dict[str, Any]


_CACHE: dict[str, Prepared] = {}
CACHE_SIZE = 4  # a reused Tune actor prepares once per trial (params differ): keep only the newest few


def cache_key(params: Params, source: str | None, days: float | None) -> str:
    blob = json.dumps([params.model_dump(mode="json"), source, days], sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def prepare(params: Params, source: str | None = None, days: float | None = None, dataset: Any = None) -> Prepared:
    """Load `source` data for `days` days (or take `dataset`, a `backtest.data.load.Dataset` of those bars), compute
    features, split, fit normalisation on train only; cached."""
    key = cache_key(params, source, days)
    if key not in _CACHE:
        from backtest.data.load import load_dataset
        from backtest.features import FEATURE_NAMES, compute_features, fit_norm
        from backtest.sim import Market

        if dataset is None:
            dataset = load_dataset(params, source=source, days=days)
        while len(_CACHE) >= CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        raw = np.asarray(compute_features(dataset.bars, params.trading, params.market.coin), dtype=np.float32)
        splits = split_spans(len(raw), params.rl.train_fraction, params.rl.validation_fraction)
        norm = fit_norm(raw[splits.train[0] : splits.train[1]])
        _CACHE[key] = Prepared(
            bars=dataset.bars,
            market=Market.from_bars(dataset.bars, params, getattr(dataset, "funding_hourly", None)),
            raw_features=raw,
            features=normalise_features(raw, norm),
            norm=norm,
            feature_names=list(FEATURE_NAMES),
            splits=splits,
            provenance=dict(dataset.provenance),
        )
    return _CACHE[key]


def share_real(prepared: Prepared, span: tuple[int, int]) -> float | None:
    """Share of real bars in a span of the prepared data (`backtest.spans.share_real`)."""
    return shares(prepared, span)["real"]


def shares(prepared: Prepared, span: tuple[int, int]) -> dict[str, float | None]:
    """Shares of real, proxy and synthetic bars in a span of the prepared data (`backtest.spans.span_shares`)."""
    from backtest.spans import span_shares

    if "source" in getattr(prepared.bars, "columns", []):
        if span[1] > span[0]:
            return dict(span_shares(prepared.bars, span))
        return {"real": None, "proxy": None, "synthetic": None}
    p = prepared.provenance
    kinds = ("real", "proxy", "synthetic")
    return {k: (None if p.get(f"share_{k}") is None else float(p[f"share_{k}"])) for k in kinds}
