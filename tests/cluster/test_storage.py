"""cluster.storage: paths and URIs, the door check, and a sweep, a registry and checkpoints on a URI storage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from backtest.config import REPO_ROOT, ConfigError, load_params
from cluster import storage


def test_storage_root_is_the_repository_by_default_a_relative_path_under_it_and_uris_as_given(monkeypatch):
    monkeypatch.delenv("AML100_STORAGE", raising=False)
    assert storage.storage_root(load_params()) == str(REPO_ROOT)
    monkeypatch.setenv("AML100_STORAGE", "/mnt/from-env")  # what `ray start` and its jobs inherit
    assert storage.storage_root(load_params()) == "/mnt/from-env"
    assert storage.storage_root(load_params(overrides=["cluster.storage=/mnt/given"])) == "/mnt/given"
    monkeypatch.delenv("AML100_STORAGE")
    assert storage.resolve_root("shared") == str(REPO_ROOT / "shared")
    assert storage.resolve_root("/mnt/aml100/") == "/mnt/aml100"
    assert storage.resolve_root("s3://bucket/aml100/") == "s3://bucket/aml100"
    params = load_params(overrides=["cluster.storage=s3://bucket/aml100"])
    assert storage.tune_root(params) == "s3://bucket/aml100/runs/tune"
    assert storage.reports_root(params) == "s3://bucket/aml100/reports"
    assert storage.join("/mnt/x", "runs", "tune") == "/mnt/x/runs/tune"
    assert storage.is_within("s3://b/a/runs/x", "s3://b/a") and not storage.is_within("s3://b/ab", "s3://b/a")


def test_registry_root_follows_the_storage_unless_aml100_registry_is_set(monkeypatch):
    params = load_params(overrides=["cluster.storage=/mnt/aml100"])
    monkeypatch.delenv("AML100_REGISTRY", raising=False)
    assert storage.registry_root(params) == "/mnt/aml100/registry"
    monkeypatch.setenv("AML100_REGISTRY", "/elsewhere/reg")
    assert storage.registry_root(params) == "/elsewhere/reg"


def test_bad_cluster_settings_name_the_key():
    for bad, words in [
        ("cluster.storage=s3://", "cluster.storage"),
        ("cluster.live_resource='a b'", "cluster.live_resource"),
        ("cluster.trial_retries=-1", "cluster.trial_retries"),
    ]:
        with pytest.raises(ConfigError, match=words):
            load_params(overrides=[bad])


def test_a_uri_storage_round_trips_files_folders_and_cached_copies(tmp_path, monkeypatch):
    monkeypatch.setenv("AML100_CACHE", str(tmp_path / "cache"))
    root = f"file://{tmp_path}/store"
    storage.write_text(storage.join(root, "registry", "index.json"), '{"a": 1}')
    assert storage.read_text(storage.join(root, "registry", "index.json")) == '{"a": 1}'
    assert storage.read_text(storage.join(root, "missing.json")) is None
    with storage.staged(storage.join(root, "runs", "r1")) as local:
        (local / "sub").mkdir()
        (local / "sub" / "f.txt").write_text("hello")
    assert storage.list_dirs(storage.join(root, "runs")) == ["r1"]
    copy = storage.localize(storage.join(root, "runs", "r1"))
    assert (copy / "sub" / "f.txt").read_text() == "hello" and str(copy).startswith(str(tmp_path / "cache"))
    assert storage.localize(storage.join(root, "runs", "r1")) == copy  # downloaded once


def test_the_door_refuses_a_relative_storage_inside_a_ray_jobs_copy_of_the_repository(tmp_path, monkeypatch):
    copy = tmp_path / "session" / "runtime_resources" / "working_dir_files" / "_ray_pkg_1"
    copy.mkdir(parents=True)
    monkeypatch.setattr(storage, "repo_root", lambda: copy)
    with pytest.raises(storage.StorageError, match="deleted when the job ends"):
        storage.check_reachable(str(copy / "runs" / "tune"), nodes=False)
    assert "reached from 1 node" in storage.check_reachable(str(tmp_path / "shared"), nodes=False)


def test_the_door_names_the_nodes_that_cannot_read_the_storage(tmp_path, monkeypatch, ray_session):
    monkeypatch.setattr(storage, "_other_nodes", lambda: [{"NodeID": "f" * 56, "NodeManagerAddress": "10.0.0.12"}])
    monkeypatch.setattr(storage, "probe_nodes", lambda location, nodes: {"10.0.0.12 (ffffffff)": "does not exist"})
    with pytest.raises(storage.StorageError) as info:
        storage.check_reachable(str(tmp_path / "local-only"))
    text = str(info.value)
    assert "10.0.0.12" in text and "not reachable from every node" in text and "s3://" in text
    assert not list((tmp_path / "local-only").rglob("*-*"))  # the probe is cleaned up


def test_probing_a_real_node_finds_a_readable_path(tmp_path, ray_session):
    import ray

    me = [n for n in ray.nodes() if n["Alive"]]
    probe = tmp_path / "probe.txt"
    probe.write_text("x")
    assert storage.probe_nodes(str(probe), me) == {}
    assert "does not exist" in next(iter(storage.probe_nodes(str(tmp_path / "nope"), me).values()))


def test_a_checkpoint_on_a_uri_loads_and_backtests_like_its_folder(tiny_runs, tmp_path, monkeypatch):
    from backtest.config import load_objectives
    from backtest.data.load import load_dataset
    from backtest.features import compute_features
    from backtest.runner import run_backtest
    from backtest.sim import Market
    from rl import checkpoint as ck
    from rl.policy import load_spec, load_strategy

    monkeypatch.setenv("AML100_CACHE", str(tmp_path / "cache"))
    local = ck.latest(tiny_runs, "ppo")
    uri = f"file://{tmp_path}/store/ppo-best"
    storage.upload(local, uri)
    params = load_params(overrides=["backtest.days=1", "backtest.chunk_size=400", "backtest.warmup_bars=20"])
    loaded = load_spec(uri)
    assert loaded is not None and loaded.kind == "policy" and loaded.location == uri
    ds = load_dataset(params)
    feats, market = compute_features(ds.bars, params.trading, params.market.coin), Market.from_bars(ds.bars, params)
    a = run_backtest(load_strategy(str(local), params), params, load_objectives(), market, feats)
    b = run_backtest(loaded.build(params), params, load_objectives(), market, feats)
    assert a.trades.equals(b.trades) and np.array_equal(a.equity, b.equity)


def test_an_ensemble_on_a_uri_finds_its_members_next_to_it(tiny_runs, tmp_path, monkeypatch):
    from rl.policy import load_spec

    monkeypatch.setenv("AML100_CACHE", str(tmp_path / "cache"))
    root = f"file://{tmp_path}/store/runs"
    storage.upload(tiny_runs, root)  # ensemble/<run>/ensemble.json names ../../ppo/... and ../../dqn/...
    loaded = load_spec("ensemble", root)
    assert loaded.kind == "ensemble" and len(loaded.members) == 2
    assert all(m.startswith("file://") for m in loaded.member_locations)
    kept = loaded.copy_to(tmp_path / "kept")
    manifest = json.loads((kept / "ensemble.json").read_text())
    assert set(manifest["members"]) == {n for n, _, _ in loaded.members}
    assert load_spec(str(kept)).kind == "ensemble"


def test_a_sweep_on_a_uri_storage_writes_results_winner_and_registry_there(ray_session, tmp_path, monkeypatch):
    import pandas as pd
    import yaml

    from rl import tune as tune_cli
    from rl.registry import Registry

    monkeypatch.setenv("AML100_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("AML100_REGISTRY", raising=False)
    space = tmp_path / "space.yaml"
    space.write_text(yaml.safe_dump({
        "score": {"folds": 2, "spread_penalty": 0.5, "no_trade_score": -10.0},
        "asha": {"grace_period": 1, "reduction_factor": 2},
        "learning": {"algo": "ppo", "iterations": 1, "iter_steps": 64},
        "params": {"trading.take_profit_pct": {"type": "uniform", "low": 0.1, "high": 1.0, "level": "execution"}},
    }))  # fmt: skip
    root = f"file://{tmp_path}/bucket/aml100"
    code = tune_cli.main(["--trials", "2", "--data", "synthetic", "--days", "2", "--space", str(space), "--name", "u1",
                          "--set", f"cluster.storage={root}"])  # fmt: skip
    assert code == 0
    out = Path(tmp_path / "bucket" / "aml100" / "runs" / "tune" / "u1")
    assert {"best_params.yaml", "summary.json", "trials.csv", "report.html", "test_report", "execution"} <= {
        p.name for p in out.iterdir()
    }
    assert len(pd.read_csv(out / "trials.csv")) == 2
    summary = json.loads((out / "summary.json").read_text())
    assert summary["best_params"] == f"{root}/runs/tune/u1/best_params.yaml"
    entry = Registry(f"{root}/registry").get(summary["registry_id"])
    assert entry["checkpoint"] == summary["best_params"] and entry["status"] == "candidate"
