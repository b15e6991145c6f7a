"""Write one backtest's report folder: metrics.json, trades (Parquet + CSV), equity.parquet and report.html."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backtest.metrics import drawdown_series, monthly_returns, session_breakdown
from backtest.objectives import ObjectiveCheck
from backtest.report.html import render_html
from backtest.report.plots import render_all
from backtest.sim.result import TRADE_COLUMNS, BacktestResult
from cluster.atomic import atomic_write_text


def json_safe(obj: Any) -> Any:
    """A copy of `obj` that `json.dumps(allow_nan=False)` accepts: numpy scalars unwrapped, NaN/inf -> None,
    tuples -> lists, timestamps and paths -> strings."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | np.ndarray):
        return [json_safe(v) for v in obj]
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        f = float(obj)
        return f if math.isfinite(f) else None
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, pd.Timestamp | datetime):
        return obj.isoformat()
    if hasattr(obj, "model_dump"):
        return json_safe(obj.model_dump(mode="json"))
    return str(obj)


def equity_frame(result: BacktestResult, drawdown: np.ndarray) -> pd.DataFrame:
    """Per-bar table: timestamp (UTC), equity, drawdown (percent), position, close."""
    return pd.DataFrame(
        {
            "timestamp": pd.to_datetime(np.asarray(result.timestamps, dtype=np.int64), unit="ms", utc=True),
            "equity": np.asarray(result.equity, dtype=np.float64),
            "drawdown": drawdown,
            "position": np.asarray(result.position, dtype=np.float64),
            "close": np.asarray(result.close, dtype=np.float64),
        }
    )


def _trades_frame(result: BacktestResult) -> pd.DataFrame:
    trades = result.trades
    cols = [c for c in TRADE_COLUMNS if c in trades.columns]
    extra = [c for c in trades.columns if c not in cols]
    return trades[cols + extra].reset_index(drop=True)


def write_report(
    result: BacktestResult,
    metrics: dict[str, Any],
    check: ObjectiveCheck,
    out_dir: Path,
    title: str,
    config: dict[str, Any] | None = None,
) -> Path:
    """Write the report files into `out_dir` (created if needed) and return the path of report.html."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    generated_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    drawdown = drawdown_series(result.equity, result.initial_equity)
    monthly = monthly_returns(result)
    sessions = session_breakdown(result)
    safe_config = json_safe(config) if config else None

    doc = {
        "title": title,
        "strategy": result.strategy,
        "generated_at": generated_at,
        "metrics": metrics,
        "objectives": check.to_dict(),
        "monthly_returns_pct": {str(p): float(v) for p, v in monthly.items()},
        "fee_schedule": result.provenance.get("fees"),
        "by_session": sessions,
        "provenance": result.provenance,
        "segments": result.segments,
        "config": safe_config,
    }
    atomic_write_text(out_dir / "metrics.json", json.dumps(json_safe(doc), indent=2, allow_nan=False) + "\n")

    trades = _trades_frame(result)
    trades.to_parquet(out_dir / "trades.parquet", index=False)
    trades.to_csv(out_dir / "trades.csv", index=False)
    equity_frame(result, drawdown).to_parquet(out_dir / "equity.parquet", index=False)

    target = next((r.threshold for r in check.rows if r.name == "monthly_return_pct"), None)
    images = render_all(result, drawdown, monthly, target)
    html = render_html(result, metrics, check, title, images, monthly, safe_config, generated_at, sessions)
    path = out_dir / "report.html"
    path.write_text(html, encoding="utf-8")
    return path
