"""Put a policy into the registry with its test-span figures and gate verdict (`python -m rl.registry add PATH`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backtest.config import Objectives, Params, load_objectives, load_params, params_from_dict
from rl.gate import gate_check
from rl.registry import Registry, RegistryError
from rl.tuning.walkforward import SpanOutcome, backtest_split


def load_market(params: Params, source: str, days: float | None):
    """(bars, market, features, provenance) of `source` data, computed once for a sweep or a registration."""
    from backtest.data.load import load_dataset
    from backtest.features import compute_features
    from backtest.sim import Market

    dataset = load_dataset(params, source, days)
    features = compute_features(dataset.bars, params.trading, params.market.coin)
    market = Market.from_bars(dataset.bars, params, dataset.funding_hourly)
    return dataset.bars, market, features, dict(dataset.provenance)


def describe_path(location: str | Path) -> tuple[str, str, Params, dict[str, Any]]:
    """(kind, strategy spec, params, metadata) for a checkpoint directory, ensemble manifest or params YAML (a path
    or a storage URI, read through a local copy)."""
    from cluster.storage import is_uri, localize
    from rl import checkpoint as ck

    if is_uri(location) and not str(location).endswith((".yaml", ".yml")):
        from rl.policy import resolve

        found = resolve(str(location))
        if found is None:
            raise ValueError(f"{location} is not a checkpoint (with aml100_meta.json) or an ensemble manifest")
        if found[0] == "ensemble":
            return "ensemble", str(location), load_params(), {"manifest": str(location)}
        meta = ck.read_metadata(localize(location))
        return meta["algo"], str(location), params_from_dict(meta["config"], str(location)), meta
    path = localize(location)
    if ck.is_checkpoint(path):
        meta = ck.read_metadata(path)
        return meta["algo"], str(path), params_from_dict(meta["config"], str(path)), meta
    if ck.is_manifest(path):
        return "ensemble", str(path), load_params(), {"manifest": str(path)}
    if path.is_file() and path.suffix in (".yaml", ".yml"):
        return "rules-params", "rules", load_params(path), {"params_file": str(path.resolve())}
    raise ValueError(f"{path} is not a checkpoint (with aml100_meta.json), an ensemble manifest or a params YAML")


def register_result(
    registry: Registry,
    kind: str,
    checkpoint: str | Path,
    params: Params,
    objectives: Objectives,
    outcome: SpanOutcome,
    metadata: dict[str, Any],
    validation: dict[str, Any],
    reason: str,
) -> dict[str, Any]:
    """Add a candidate with its test figures and the (paper) gate verdict."""
    verdict = gate_check(outcome.metrics, objectives, outcome.min_trades)
    meta = {**metadata, "config": params.model_dump(mode="json"), "test_window_bars": list(outcome.window)}
    shares = {k: outcome.metrics.get(k) for k in ("share_real", "share_proxy", "share_synthetic")}
    meta.setdefault("data", {"provenance": outcome.result.provenance, **shares})
    return registry.add(
        kind,
        checkpoint,
        params.market.coin,
        metadata=meta,
        validation=validation,
        test=outcome.metrics,
        min_trades=outcome.min_trades,
        gate=verdict.to_dict(),
        reason=reason,
    )


def fitted_spans(kind: str, path: str | Path, meta: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(what, start, end) of every span a checkpoint (or each ensemble member) was trained or selected on."""
    from cluster.storage import localize
    from rl import checkpoint as ck

    if kind == "ensemble":
        from rl.policy import read_spec

        out = []
        for name, _, member_meta in read_spec("ensemble", path).members:
            out += [(f"{name} member {what}", a, b) for what, a, b in fitted_spans("member", "", member_meta)]
        return out
    if kind == "rules-params":
        return []
    meta = meta or ck.read_metadata(localize(path))
    splits = (meta.get("data") or {}).get("splits") or {}
    names = {"train": "training span", "validation": "validation span (checkpoint selection)"}
    return [(names[k], splits[k]["start"], splits[k]["end"]) for k in names if k in splits]


def refuse_overlap(test: tuple[str, str], fitted: list[tuple[str, str, str]], where: str) -> None:
    """RegistryError if the test span [start, end] overlaps any span the policy was fitted on; names both."""
    import pandas as pd

    lo, hi = (pd.Timestamp(t) for t in test)
    for what, start, end in fitted:
        if pd.Timestamp(start) <= hi and lo <= pd.Timestamp(end):
            raise RegistryError(
                f"test span {test[0]} .. {test[1]} ({where}) overlaps the {what} {start} .. {end}: its figures would "
                "not be out of sample; choose --days/--data so that the test span comes after it"
            )


def register_path(
    path: str | Path, source: str | None = None, days: float | None = None, registry: Registry | None = None
) -> dict[str, Any]:
    """Backtest the test span of what `path` holds and register it as a candidate.

    Refuses (RegistryError) when that test span overlaps the dates the policy was trained or selected on."""
    from rl.splits import splits_for

    kind, spec, params, meta = describe_path(path)
    data = meta.get("data") or {}
    source = source or data.get("source") or params.backtest.data_source
    days = days if days is not None else data.get("days")
    objectives = load_objectives()
    bars, market, features, provenance = load_market(params, source, days)
    lo, hi = splits_for(market.n_bars, params).test
    ts = bars["timestamp"]
    test = (str(ts.iloc[lo].isoformat()), str(ts.iloc[hi - 1].isoformat()))
    refuse_overlap(test, fitted_spans(kind, path, meta), f"{source}, {days or params.backtest.days:g} days")
    outcome = backtest_split(spec, params, objectives, bars, market, features, provenance)
    return register_result(
        registry or Registry(),
        kind,
        path,
        params,
        objectives,
        outcome,
        {k: meta.get(k) for k in ("algo", "seed", "data", "code_version", "manifest", "params_file") if k in meta},
        meta.get("validation") or {},
        f"registered from {path}",
    )
