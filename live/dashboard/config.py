"""The `dashboard:` section of configs/params.yaml: the web dashboard (`python -m live.dashboard`) and the terminal
monitor (`python -m live.monitor`); docs/DASHBOARD.md.

Registered under the entry-point group `aml100.config` (pyproject.toml). Every default lives here, once;
configs/params.yaml repeats them with comments (tests/test_config_files.py checks the two agree).
"""

from __future__ import annotations

from pydantic import Field

from backtest.config import Section


class DashboardConfig(Section):
    """The web dashboard and the terminal monitor. Empty paths mean: derived from the rest of the params."""

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8501, ge=1, le=65535)
    refresh_seconds: float = Field(default=5.0, ge=0.5, le=3600)
    journal_days: int = Field(default=2, ge=1, le=366)
    autopilot_dir: str = ""
    tune_dir: str = Field(default="runs/tune", min_length=1)
    registry_dir: str = ""
    ray_dashboard_url: str = Field(default="http://127.0.0.1:8265", pattern=r"^https?://")
    compare_backtest: bool = True
    allow_emergency_stop: bool = False
