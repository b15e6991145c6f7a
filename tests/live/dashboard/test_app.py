"""The Streamlit script itself, run by Streamlit's own test runner (no browser): every page renders without an
exception on an empty workspace (a fresh clone) and on a small journal, and says where it looked."""

from __future__ import annotations

import json

import pytest

from live.dashboard import data
from live.dashboard.demo import synthetic_cycles, synthetic_journal

testing = pytest.importorskip("streamlit.testing.v1")
PAGES = {"live": "live_page", "autopilot": "autopilot_page", "research": "research_page"}


def _run(monkeypatch, tmp_path, page: str):
    sets = [f"live.journal_dir={tmp_path / 'live'}", f"backtest.reports_dir={tmp_path / 'reports'}",
            f"dashboard.tune_dir={tmp_path / 'tune'}", f"dashboard.registry_dir={tmp_path / 'registry'}",
            f"autopilot.dir={tmp_path / 'autopilot'}", "dashboard.compare_backtest=false"]  # fmt: skip
    monkeypatch.setenv(data.ARGV_ENV, json.dumps([x for o in sets for x in ("--set", o)]))
    script = f"from live.dashboard.pages import {PAGES[page]}\n{PAGES[page]}()\n"
    at = testing.AppTest.from_string(script, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def _text(at) -> str:
    return " ".join(str(e.value) for e in [*at.markdown, *at.info, *at.caption])


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders_on_an_empty_workspace_and_says_where_it_looked(monkeypatch, tmp_path, page):
    at = _run(monkeypatch, tmp_path, page)
    text = _text(at)
    if page == "live":
        assert "No trader journal" in text and str(tmp_path / "live") in text
    elif page == "autopilot":
        assert "No autopilot cycles" in text and str(tmp_path / "autopilot") in text
    else:
        assert "is empty" in text and "no report under" in text and "no sweep under" in text


def test_the_live_and_autopilot_pages_render_a_journal_and_cycles(monkeypatch, tmp_path):
    root = tmp_path / "live" / "xyz_XYZ100" / "0xbench"
    synthetic_journal(root, "xyz:XYZ100", n_bars=60)
    synthetic_cycles(tmp_path / "autopilot" / "xyz_XYZ100" / "cycles.jsonl", 12, 1_772_500_000_000)
    at = _run(monkeypatch, tmp_path, "live")
    labels = {m.label: m.value for m in at.metric}
    status = json.loads((root / "status.json").read_text())
    assert labels["Equity"] == f"{status['equity']:,.2f}"
    at = _run(monkeypatch, tmp_path, "autopilot")
    assert {m.label: m.value for m in at.metric}["Cycles"] == "12"
