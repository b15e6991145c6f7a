"""`python -m live.monitor --once`: one snapshot of a trader, figures from the journal and status."""

from __future__ import annotations

import json
import subprocess
import sys

from backtest.config import REPO_ROOT
from live import monitor
from live.dashboard.demo import synthetic_journal
from live.journal import read_records


def _journal(tmp_path, n_bars=120):
    root = tmp_path / "live" / "xyz_XYZ100" / "0xbench"
    synthetic_journal(root, "xyz:XYZ100", n_bars=n_bars)
    return root


def test_once_prints_status_equity_position_decisions_orders_and_alerts(tmp_path, capsys):
    root = _journal(tmp_path)
    alert = {"ts": 1_772_500_000_000, "kind": "alert", "event": "feed_lost", "level": "warning",
             "message": "market data feed lost (socket)", "figures": {"why": "socket"}}  # fmt: skip
    with open(next(root.glob("journal-*.jsonl")), "a") as fh:
        fh.write(json.dumps(alert) + "\n")
    status = json.loads((root / "status.json").read_text())
    last = [r for r in read_records(root, kinds={"decision"})][-1]
    code = monitor.main(["--once", "--width", "160", "--set", f"live.journal_dir={tmp_path / 'live'}"])
    out = capsys.readouterr().out
    assert code == 0
    assert "xyz:XYZ100" in out and "RUNNING" in out
    assert f"equity {status['equity']:,.2f}" in out
    assert f"{last['equity']:,.2f}" in out  # the newest decision's row
    assert "last decisions" in out and "last orders" in out
    assert "feed_lost" in out and "market data feed lost (socket)" in out


def test_without_a_trader_it_says_where_it_looked(tmp_path, capsys):
    assert monitor.main(["--once", "--set", f"live.journal_dir={tmp_path}"]) == 2
    assert str(tmp_path) in capsys.readouterr().out


def test_the_command_runs_as_a_module_with_a_root(tmp_path):
    root = _journal(tmp_path, n_bars=30)
    env = {"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin", "COLUMNS": "140"}
    got = subprocess.run([sys.executable, "-m", "live.monitor", "--once", "--root", str(root)], env=env,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert got.returncode == 0, got.stderr
    assert "AML-100 live" in got.stdout and "HOLD rate" in got.stdout
