"""Backtest reports: a folder with metrics.json, trade and equity tables and a self-contained report.html."""

from backtest.report.headline import headline
from backtest.report.writer import write_report

__all__ = ["headline", "write_report"]
