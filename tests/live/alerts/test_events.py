"""The catalog: every event has a level and one line that names what happened, the figure and what to do."""

from __future__ import annotations

import pytest

from live.alerts.events import CATALOG, LEVELS, describe, figures_text
from tests.support.alerts import sample_figures


@pytest.mark.parametrize("event", sorted(CATALOG))
def test_every_event_renders_one_line_with_its_figures_and_no_placeholder(event):
    figures = sample_figures()[event]
    level, message = describe(event, figures)
    assert level in LEVELS
    assert "\n" not in message and len(message) > 40
    assert "?" not in message, message  # every figure the message names was found
    generic = f"{CATALOG[event].title}: {figures_text(figures) or 'no details'}"
    assert message != generic, "fell back to the generic text: a figure is missing"


def test_the_halt_message_gives_equity_drawdown_peak_what_happened_and_what_to_do():
    _, msg = describe("halt", sample_figures()["halt"])
    assert "9,590.00 is 4.11 % below its peak 10,001.00 (halt at 4 %)" in msg
    assert "no new entries" in msg and "python -m live.serve status" in msg


def test_levels_follow_the_stakes():
    level = {e: describe(e, f)[0] for e, f in sample_figures().items()}
    assert {e for e, lv in level.items() if lv == "critical"} == {"halt", "daily_stop", "emergency_on",
                                                                  "grade_changed"}  # fmt: skip
    assert level["feed_lost"] == level["order_refused"] == level["reconcile_diff"] == "warning"
    assert describe("grade_changed", {**sample_figures()["grade_changed"], "new": "GOOD"})[0] == "info"


def test_an_unknown_event_or_a_missing_figure_still_makes_a_readable_alert():
    assert describe("disk_full", {"file": "journal-2026-03-02.jsonl", "bytes": 17}) == (
        "warning",
        "disk full: file journal-2026-03-02.jsonl, bytes 17",
    )
    level, msg = describe("halt", {"equity": 9590.0})  # peak and drawdown missing
    assert level == "critical" and msg == "drawdown halt: equity 9590.0"
