"""What the dashboard reads from disk: trader folders, journal windows, torn lines, cycles, registry, report and sweep
folders, the report-file route's guard, and the emergency-stop write."""

from __future__ import annotations

import json
import os

from backtest.config import load_params
from live.dashboard import data
from live.journal import Journal


def _trader(base, coin_slug, account, updated_ms, days=("2026-03-01", "2026-03-02")):
    root = base / coin_slug / account
    root.mkdir(parents=True)
    for d in days:
        (root / f"journal-{d}.jsonl").write_text(json.dumps({"ts": 1, "kind": "bar", "day": d}) + "\n")
    (root / "status.json").write_text(
        json.dumps(
            {
                "coin": coin_slug.replace("_", ":"),
                "account": account,
                "mode": "paper",
                "running": True,
                "updated_ms": updated_ms,
            }
        )
    )
    return root


def test_traders_are_found_by_their_status_file_newest_first(tmp_path):
    _trader(tmp_path, "xyz_XYZ100", "0xaaa", 1_000)
    newest = _trader(tmp_path, "xyz_XYZ100", "0xbbb", 2_000)
    (tmp_path / "not_a_trader").mkdir()
    found = data.find_traders(tmp_path)
    assert [t.root for t in found] == [newest, tmp_path / "xyz_XYZ100" / "0xaaa"]
    assert found[0].coin == "xyz:XYZ100" and found[0].running and "0xbbb" in found[0].label
    assert data.find_traders(tmp_path / "missing") == []


def test_the_journal_window_reads_the_newest_days_only_and_skips_a_torn_last_line(tmp_path):
    root = _trader(tmp_path, "c", "a", 1, days=("2026-03-01", "2026-03-02", "2026-03-03"))
    with open(root / "journal-2026-03-03.jsonl", "a") as fh:
        fh.write('{"ts": 2, "kind": "decision", "bar"')  # a crash mid-write
    recs = data.load_records(root, days=2)
    assert [r["day"] for r in recs] == ["2026-03-02", "2026-03-03"]
    before = data.file_key(root / "journal-2026-03-03.jsonl")
    with open(root / "journal-2026-03-03.jsonl", "a") as fh:
        fh.write("\n")
    assert data.file_key(root / "journal-2026-03-03.jsonl") != before  # an append changes the cache key


def test_records_written_by_the_trader_journal_read_back_with_the_session(tmp_path):
    j = Journal(tmp_path, clock=lambda: 1_772_445_600.0)
    j.write("start", mode="paper", coin="xyz:XYZ100", strategy="rules", strategy_spec="rules")
    j.write("history", bars=2, source="paper", t=[0, 60_000], o=[1.0, 2.0], h=[1.0, 2.0], l=[1.0, 2.0], c=[1.0, 2.0],
            v=[1.0, 1.0], n=[1, 1])  # fmt: skip
    j.write("bar", bar=120_000, o=2.0, h=2.0, l=2.0, c=2.0, v=1.0, source="paper")
    j.write("decision", bar=120_000, action="HOLD", equity=10.0)
    j.close()
    s = data.session_frames(data.load_records(tmp_path, 2))
    assert s.start["strategy_spec"] == "rules" and len(s.history) == 2 and len(s.decisions) == 1
    assert len(s.frame()) == 3
    assert data.session_frames([{"kind": "decision"}]) is None


def test_paths_follow_the_params_and_the_autopilot_folder_is_the_autopilot_s(tmp_path):
    p = load_params(overrides=[f"live.journal_dir={tmp_path / 'live'}", "dashboard.registry_dir=reg",
                               f"autopilot.dir={tmp_path / 'autopilot'}"])  # fmt: skip
    paths = data.Paths.from_params(p)
    assert paths.autopilot_dir == tmp_path / "autopilot"
    assert paths.cycles_file("xyz:XYZ100") == tmp_path / "autopilot" / "xyz_XYZ100" / "cycles.jsonl"
    assert paths.registry_dir.name == "reg" and paths.registry_dir.is_absolute()
    p2 = load_params(overrides=[f"dashboard.autopilot_dir={tmp_path / 'ap'}"])
    assert data.Paths.from_params(p2).autopilot_dir == tmp_path / "ap"


def test_missing_or_broken_files_read_as_empty(tmp_path):
    assert data.load_cycles(tmp_path / "none.jsonl") == []
    assert data.load_registry(tmp_path) == []
    (tmp_path / "index.json").write_text("{not json")
    assert data.load_registry(tmp_path) == []
    assert data.list_reports(tmp_path / "nothing") == [] and data.list_sweeps(tmp_path) == []


def _paths(tmp_path):
    p = load_params(overrides=[f"backtest.reports_dir={tmp_path / 'reports'}", f"dashboard.tune_dir={tmp_path / 't'}",
                               f"live.emergency_stop_file={tmp_path / 'stop' / 'EMERGENCY'}"])  # fmt: skip
    return data.Paths.from_params(p)


def test_report_links_reach_only_report_html_of_listed_folders(tmp_path):
    paths = _paths(tmp_path)
    (tmp_path / "reports" / "r1").mkdir(parents=True)
    (tmp_path / "reports" / "r1" / "report.html").write_text("<html>r1</html>")
    (tmp_path / "reports" / "r1" / "metrics.json").write_text(json.dumps({"strategy": "rules"}))
    (tmp_path / "reports" / "r2").mkdir()
    (tmp_path / "secret.txt").write_text("no")
    assert data.report_file(paths, "report", "r1") == tmp_path / "reports" / "r1" / "report.html"
    assert data.report_file(paths, "report", "r2") is None  # no report.html there
    assert data.report_file(paths, "report", "..") is None
    assert data.report_file(paths, "report", "../secret.txt") is None
    assert data.report_file(paths, "other", "r1") is None
    listed = data.list_reports(paths.reports_dir)
    assert [r["name"] for r in listed] == ["r1"] and listed[0]["doc"]["strategy"] == "rules"


def test_the_emergency_stop_file_is_created_and_removed(tmp_path):
    paths = _paths(tmp_path)
    assert not data.emergency_stop_present(paths.emergency_stop_file)
    assert data.set_emergency_stop(paths.emergency_stop_file, True)
    assert paths.emergency_stop_file.read_text().startswith("emergency stop")
    assert not data.set_emergency_stop(paths.emergency_stop_file, False)
    assert not data.set_emergency_stop(paths.emergency_stop_file, False)  # removing twice is fine


def test_config_arguments_travel_to_the_streamlit_process_through_the_environment(monkeypatch):
    monkeypatch.setenv(data.ARGV_ENV, json.dumps(["--set", "dashboard.port=8600", "--set", "objectives.sharpe_min=1"]))
    params, objectives = data.configs_from_argv(data.argv_from_env())
    assert params.dashboard.port == 8600 and objectives.sharpe_min == 1
    monkeypatch.delenv(data.ARGV_ENV)
    assert data.argv_from_env() == [] and os.environ.get(data.ARGV_ENV) is None
