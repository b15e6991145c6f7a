"""Where the trading actors go and what they hold; which cluster an entry point joins; the interpreter check."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from backtest.config import REPO_ROOT, load_params
from cluster import placement
from cluster.connect import started_cluster_address


def test_a_plain_cluster_gives_the_trader_live_cpus_on_the_drivers_node(ray_session):
    import ray

    params = load_params(overrides=["live.cpus=1"])
    place = placement.trading_placement(params)  # the session's Ray offers no aml100_live
    assert place.resource is None and place.cpus == 1.0
    assert place.node_id == ray.get_runtime_context().get_node_id()
    opts = place.trader_options()
    assert opts["num_cpus"] == 1.0 and "resources" not in opts
    assert opts["scheduling_strategy"].node_id == place.node_id and opts["scheduling_strategy"].soft is False
    assert placement.trial_resources(params) == (None, "trials hold 1 CPU each")


def test_a_node_offering_the_live_resource_takes_the_trader_which_holds_it_instead_of_cpus(monkeypatch):
    params = load_params()
    monkeypatch.setattr(placement, "offered", lambda r: {"aml100_live": 2.0, "aml100_autopilot": 1.0}.get(r, 0.0))
    monkeypatch.setattr(placement, "available", lambda r: 1.0)
    monkeypatch.setattr(placement, "nodes_offering", lambda r: ["a" * 56])
    place = placement.trading_placement(params)
    assert place.resource == "aml100_live" and place.cpus == 0.0 and place.node_id == "a" * 56
    assert place.trader_options()["resources"] == {"aml100_live": 1} and place.helper_options()["num_cpus"] == 0
    assert "holds 1 aml100_live" in place.describe()
    resources, text = placement.trial_resources(params)
    assert resources == {"cpu": 0, "aml100_autopilot": 1} and "aml100_autopilot" in text


def test_every_unit_of_the_live_resource_held_refuses_at_once_instead_of_pending(monkeypatch):
    monkeypatch.setattr(placement, "offered", lambda r: 1.0)
    monkeypatch.setattr(placement, "available", lambda r: 0.0)
    with pytest.raises(placement.PlacementError, match="another live trader"):
        placement.trading_placement(load_params())


def test_an_empty_resource_name_means_cpus_only(monkeypatch):
    monkeypatch.setattr(placement, "offered", lambda r: 5.0 if r else 0.0)
    params = load_params(overrides=["cluster.live_resource=''", "cluster.autopilot_resource=''"])
    assert placement.trial_resources(params)[0] is None


def test_a_ray_start_cluster_is_found_under_ray_tmpdir_with_or_without_temp_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))
    assert started_cluster_address() is None
    (tmp_path / "ray").mkdir()
    (tmp_path / "ray" / "ray_current_cluster").write_text("10.0.0.1:6379\n")  # `ray start --head`
    assert started_cluster_address() == "10.0.0.1:6379"
    (tmp_path / "ray_current_cluster").write_text("10.0.0.2:6390\n")  # `ray start --head --temp-dir=$RAY_TMPDIR`
    assert started_cluster_address() == "10.0.0.2:6390"


@pytest.mark.parametrize("module", ["rl.tune", "rl.train", "backtest", "live.autopilot"])
def test_a_python_without_the_projects_packages_is_told_what_to_do(module):
    """What a Ray job sees when the cluster's `python` is not the project's: one message, exit code 3."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run([sys.executable, "-S", "-m", module, "--help"], env=env, capture_output=True, text=True)
    assert proc.returncode == 3
    assert f"python -m {module} needs the project's Python environment" in proc.stderr
    assert "ray start --head" in proc.stderr and "docs/CLUSTER.md" in proc.stderr and "Traceback" not in proc.stderr
