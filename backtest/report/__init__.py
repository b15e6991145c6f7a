"""Backtest reports: a folder with metrics.json, trade and equity tables and a self-contained report.html.

`write_report` is imported on first use: it brings in matplotlib (~1 s), which a run without a report never needs.
"""

from typing import Any

from backtest.report.headline import headline

__all__ = ["headline", "write_report"]


def __getattr__(name: str) -> Any:
    if name == "write_report":
        from backtest.report.writer import write_report

        return write_report
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
