"""What the dashboard and the terminal monitor show, computed from journal records, status.json, autopilot cycles,
registry entries and report/sweep documents. Pure functions: no files, no clock, no Streamlit, so every figure on a
page is unit-tested without a browser.

Formats: docs/LIVE.md (journal records, status.json, the autopilot cycle journal), rl/registry (entries),
backtest/report (metrics.json) and rl/tuning/pipeline.py (a sweep's summary.json).
Times: journal `ts` is the wall clock; `bar` / `bar_ms` and fill `time` are market times (ms, UTC).

One module per page (`journal`: Live, `cycles`: Autopilot, `research`), plus `alerts` and `fmt`; every name is
re-exported here, so callers write `views.name`.
"""

from __future__ import annotations

from live.dashboard.views.alerts import LEVELS, alerts, gap_text, skipped_text
from live.dashboard.views.cycles import (
    STATUS_LEVELS,
    TIMELINE_BUCKETS,
    cycle_frame,
    cycle_rows,
    cycle_summary,
    cycle_timeline,
)
from live.dashboard.views.fmt import OPS, fmt_age, fmt_num, fmt_pct, fmt_signed, fmt_time, gate_text, short_id
from live.dashboard.views.journal import (
    WEEKDAYS,
    by_kind,
    cancel_took,
    compare_frame,
    decision_rows,
    decision_summary,
    entry_times,
    equity_frame,
    equity_view,
    fill_rows,
    fill_table,
    heatmap,
    heatmap_frame,
    hold_rate_series,
    last_session,
    live_figures,
    open_leg_ids,
    open_orders,
    position_view,
    risk_view,
    slippage_stats,
    thin,
)
from live.dashboard.views.research import gate_rows, ray_links, registry_group, registry_rows, report_rows, sweep_rows

__all__ = [
    "LEVELS",
    "OPS",
    "STATUS_LEVELS",
    "TIMELINE_BUCKETS",
    "WEEKDAYS",
    "alerts",
    "by_kind",
    "cancel_took",
    "compare_frame",
    "cycle_frame",
    "cycle_rows",
    "cycle_summary",
    "cycle_timeline",
    "decision_rows",
    "decision_summary",
    "entry_times",
    "equity_frame",
    "equity_view",
    "fill_rows",
    "fill_table",
    "fmt_age",
    "fmt_num",
    "fmt_pct",
    "fmt_signed",
    "fmt_time",
    "gap_text",
    "gate_rows",
    "gate_text",
    "heatmap",
    "heatmap_frame",
    "hold_rate_series",
    "last_session",
    "live_figures",
    "open_leg_ids",
    "open_orders",
    "position_view",
    "ray_links",
    "registry_group",
    "registry_rows",
    "report_rows",
    "risk_view",
    "short_id",
    "skipped_text",
    "slippage_stats",
    "sweep_rows",
    "thin",
]
