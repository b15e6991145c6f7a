"""Every Ray workload on a two-node cluster (two `ray.cluster_utils.Cluster` nodes on this machine, one CPU each).

The cluster cannot share a process with the test session's Ray, so `tests/cluster/two_nodes.py` runs it all in a
subprocess (about a minute on 2 cores) and reports what it saw; these tests read that report. Every worker process
there refuses to open the checkpoint's folder (`tests.cluster.guard.forbid_reads`), so passing shows that workers,
trials and the live actor get what they need through Ray, not from the driver's disk.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from backtest.config import REPO_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report():
    tmp = Path(tempfile.mkdtemp(prefix="aml2n-", dir="/tmp"))  # short: Ray's socket paths live under it
    out = tmp / "out.json"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p),
        "RAY_TMPDIR": str(tmp),  # its address file stays here: no other program on this machine joins it
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AUTH_MODE": "disabled",
    }
    env.pop("RAY_ADDRESS", None)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "tests.cluster.two_nodes", str(out), str(tmp / "work")],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=420,
        )  # fmt: skip
        if not out.is_file():
            pytest.fail(f"the two-node driver wrote no report (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
        data = json.loads(out.read_text())
        data["_stderr"] = proc.stderr[-4000:]
        yield data
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _step(report: dict, name: str) -> dict:
    res = report.get(name)
    if res is None:
        pytest.fail(f"the driver did not reach step {name}:\n{report['_stderr']}")
    if "error" in res:
        pytest.fail(f"step {name} failed in the driver:\n{res['error']}")
    return res


def test_chunked_rules_backtest_with_a_worker_on_each_node_gives_the_trades_of_one_process(report):
    res = _step(report, "backtest_rules")
    assert set(res["worker_nodes"]) == {report["nodes"]["head"], report["nodes"]["b"]}
    assert res["trades"][0] > 0 and res["identical_trades"] and res["identical_equity"]


def test_policy_backtest_on_both_nodes_never_opens_the_checkpoint_and_gives_the_same_trades(report):
    res = _step(report, "backtest_policy")
    assert set(res["worker_nodes"]) == {report["nodes"]["head"], report["nodes"]["b"]}
    assert res["trades"][0] > 0 and res["identical_trades"] and res["identical_equity"]


def test_training_samples_with_an_env_runner_on_each_node(report):
    res = _step(report, "env_runners")
    assert sorted(res["runner_nodes"]) == sorted(report["nodes"].values())
    assert res["sampled"] >= 128


def test_execution_sweep_runs_trials_on_both_nodes_and_leaves_results_winner_and_registry_on_the_storage(report):
    res = _step(report, "sweep")
    assert res["code"] == 0 and res["trials"] == 4
    assert set(res["trial_nodes"]) == {report["nodes"]["head"][:8], report["nodes"]["b"][:8]}
    assert {"best_params.yaml", "summary.json", "trials.csv", "report.html", "execution", "strategy"} <= set(
        res["files"]
    )
    assert res["registry_id"] in res["registry_ids"]
    # the tuned checkpoint lay outside the storage: the sweep keeps a copy there, and the registry points at it
    assert "/storage/runs/tune/two-nodes/strategy" in res["registry_checkpoint"]
    assert any("reached from 2 node(s)" in line for line in res["log"])


def test_live_trader_is_placed_on_the_node_offering_aml100_live_holds_it_and_trades_a_checkpoint(report):
    res = _step(report, "live")
    assert res["code"] == 0 and res["stop_code"] == 0
    assert res["on_head"] and res["live_resource_free_while_running"] == 0.0
    assert res["strategy"] == "rl-ppo" and res["bars"] > 0
    assert any("holds 1 aml100_live" in line for line in res["printed"])


def test_losing_a_worker_node_mid_sweep_runs_its_trial_again_and_the_sweep_finishes(report):
    res = _step(report, "node_loss")
    assert res["removed"], "node b was never seen running a trial"
    assert any(f"trial {res['removed']['trial']} failed" in line for line in res["log"])
    assert res["trials"] == 4 and all(s == s for s in res["scores"])  # every trial finished with a score
    assert res["summary"] and res["registry_id"]
