"""Performance figures of one backtest, computed vectorised from a `BacktestResult`.

Definitions (these are the exact formulas; docs/ARCHITECTURE.md quotes them):

* Equity path: E_0 = `initial_equity`, then E_1..E_T = `result.equity` (mark-to-market at each bar close).
* Span: days = calendar time from the first bar's open to the last bar's close / 86400; without gaps that is
  T * bar_seconds / 86400. With gaps (a proxy's closed sessions, `backtest.gaps`) the hours without bars count:
  the account is flat there (no segment spans a break).
* Per-bar return: r_t = E_t / E_{t-1} - 1 for t = 1..T (the first bar is measured against the initial equity).
* Periods per year: P = 365 * 24 * 3600 / bar_seconds (perpetuals trade around the clock; 1m bars give 525,600),
  times the share of the span's calendar time that has bars (T * bar_seconds / (days * 86400), 1 without gaps):
  the bars a year of this series holds. That is the Sharpe ratio the same equity would have with flat bars filling
  the gaps.
* total_return_pct = (E_T / E_0 - 1) * 100.
* monthly_return_pct = ((E_T / E_0) ** (30 / days) - 1) * 100 (geometric, scaled to 30 days);
  annual_return_pct likewise with 365 days. Both are capped at RETURN_CAP_PCT so short spans stay finite.
* sharpe = mean(r) / std(r, ddof=1) * sqrt(P); sortino = mean(r) / sqrt(mean(min(r, 0)^2)) * sqrt(P).
  Risk-free rate 0. Either is 0 when undefined (fewer than 2 bars, or zero deviation).
* Drawdown at t: (max(E_0..E_t) - E_t) / max(E_0..E_t) * 100, a positive percent; max_drawdown_pct is its maximum.
* calmar = annual_return_pct / max_drawdown_pct (RATIO_CAP when there was no drawdown and the return is positive).
* Over the trade list (`pnl` is net of fees and funding): gross_profit = sum of positive pnl, gross_loss = -sum of
  negative pnl, profit_factor = gross_profit / gross_loss (RATIO_CAP when there is profit but no loss, 0 when there
  is neither), win_rate_pct = share of trades with pnl > 0 * 100, trades_per_day = n_trades / days.
* hold_rate_pct = share of HOLD among the decisions taken while positions could be opened: bars with a decision
  (actions >= 0) before the first drawdown halt (decisions after it cannot open anything, and a chunked run does
  not consult the strategy there, a continuous one does) * 100; n_decisions counts the same decisions. So both
  agree between chunked and continuous runs whenever the trading did.
* exposure_pct = share of bars whose closing position is non-zero * 100.
* fees_paid and funding_paid are the simulator's totals (`result.fees`, `result.funding`).
* With a maker execution style, the figures of `backtest.execution_metrics` (order outcomes, fill rate, time to
  fill, markout, cost per round trip) are added, flat, with their definitions there.
* fee_taker_pct, fee_maker_pct and fee_schedule: the fee schedule the simulator charged and where it came from
  (`result.provenance["fees"]`, a `backtest.venue.fees.FeeSchedule`: the venue's answer, its documented default
  or a params override); None when the result does not say.
* share_real comes from `result.provenance["share_real"]`; without it, a `source` of "real" means 1 and
  "synthetic" means 0, otherwise it is None (unknown). real_days = share_real * days (None when unknown); likewise
  share_proxy / proxy_days (bars of another market mapped to this one, `python -m backtest.data import`) and
  share_synthetic. The promotion gate passes real_days and proxy_days to `check_objectives`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from backtest.gaps import covered_seconds
from backtest.sim.result import BacktestResult

RETURN_CAP_PCT = 1e9  # extrapolated returns of very short spans are capped here to stay finite and JSON-safe
RATIO_CAP = 1000.0  # profit factor / calmar when the denominator is zero but the numerator is positive
_SECONDS_PER_YEAR = 365 * 24 * 3600


def periods_per_year(bar_seconds: int) -> float:
    """Number of bars in a year of round-the-clock trading (365 days)."""
    if bar_seconds <= 0:
        raise ValueError(f"bar_seconds must be > 0, got {bar_seconds}")
    return _SECONDS_PER_YEAR / bar_seconds


def equity_path(result: BacktestResult) -> np.ndarray:
    """E_0..E_T: the initial equity followed by the per-bar closing equity."""
    return np.concatenate(([float(result.initial_equity)], np.asarray(result.equity, dtype=np.float64)))


def bar_returns(result: BacktestResult) -> np.ndarray:
    """Per-bar simple returns r_t = E_t / E_{t-1} - 1, t = 1..T (0 where E_{t-1} is not positive)."""
    path = equity_path(result)
    prev = path[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(prev > 0, path[1:] / prev - 1.0, 0.0)
    return r


def drawdown_series(equity: np.ndarray, initial: float | None = None) -> np.ndarray:
    """Drawdown at each bar in percent of the running peak (positive; 0 at a new high).

    With `initial`, the initial equity counts as the first peak (a loss on the first bar is a drawdown).
    """
    eq = np.asarray(equity, dtype=np.float64)
    if eq.size == 0:
        return np.zeros(0)
    peak = np.maximum.accumulate(eq)
    if initial is not None:
        peak = np.maximum(peak, float(initial))
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0, (peak - eq) / peak * 100.0, 0.0)
    return dd


def _scaled_return_pct(growth: float, days: float, horizon_days: float) -> float:
    """((growth) ** (horizon / days) - 1) * 100, computed in logs and capped to stay finite."""
    if days <= 0:
        return 0.0
    if growth <= 0:
        return -100.0
    log_scaled = math.log(growth) * horizon_days / days
    cap = math.log1p(RETURN_CAP_PCT / 100.0)
    return float(math.expm1(min(log_scaled, cap)) * 100.0)


def _ratio(num: float, den: float) -> float:
    """num / den, RATIO_CAP (signed) when den is 0 and num is not, 0 when both are 0; clipped to +-RATIO_CAP."""
    if den == 0:
        return math.copysign(RATIO_CAP, num) if num != 0 else 0.0
    return float(np.clip(num / den, -RATIO_CAP, RATIO_CAP))


def sharpe_sortino(returns: np.ndarray, bar_seconds: int, coverage: float = 1.0) -> tuple[float, float]:
    """Annualised Sharpe and Sortino ratios of per-bar returns (risk-free 0); 0 when undefined.

    `coverage` is the share of calendar time the bars cover (1 without gaps): P = periods_per_year * coverage.
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.size < 2:
        return 0.0, 0.0
    scale = math.sqrt(periods_per_year(bar_seconds) * min(1.0, max(coverage, 1e-12)))
    mean = float(r.mean())
    std = float(r.std(ddof=1))
    downside = float(np.sqrt(np.mean(np.minimum(r, 0.0) ** 2)))
    sharpe = mean / std * scale if std > 1e-15 else 0.0
    sortino = mean / downside * scale if downside > 1e-15 else 0.0
    return float(sharpe), float(sortino)


def _share_real(provenance: dict[str, Any]) -> float | None:
    if provenance.get("share_real") is not None:
        return float(provenance["share_real"])
    source = provenance.get("source", provenance.get("data_source"))
    return {"real": 1.0, "synthetic": 0.0}.get(str(source)) if source is not None else None


def data_shares(provenance: dict[str, Any], days: float) -> dict[str, Any]:
    """share_proxy, share_synthetic and proxy_days of a run (share_real and real_days are above).

    From the provenance's shares (`backtest.data.schema.source_shares`); provenance written before proxy data
    existed has no share_proxy: its proxy share is 0 and the rest is synthetic. None when the real share is unknown.
    """
    real = _share_real(provenance)
    if real is None:
        return {"share_proxy": None, "share_synthetic": None, "proxy_days": None}
    proxy = float(provenance.get("share_proxy") or 0.0)
    synthetic = provenance.get("share_synthetic")
    synthetic = max(0.0, 1.0 - real - proxy) if synthetic is None else float(synthetic)
    return {"share_proxy": proxy, "share_synthetic": synthetic, "proxy_days": float(proxy * days)}


def _trade_metrics(trades: pd.DataFrame, days: float) -> dict[str, Any]:
    n = len(trades)
    pnl = trades["pnl"].to_numpy(dtype=np.float64) if n else np.zeros(0)
    gross_profit = float(pnl[pnl > 0].sum())
    gross_loss = float(-pnl[pnl < 0].sum())
    side = trades["side"].to_numpy() if n else np.zeros(0)
    ret = trades["return_pct"].to_numpy(dtype=np.float64) if n else np.zeros(0)
    hold = trades["hold_seconds"].to_numpy(dtype=np.float64) if n else np.zeros(0)
    return {
        "n_trades": int(n),
        "n_long": int((side > 0).sum()),
        "n_short": int((side < 0).sum()),
        "trades_per_day": float(n / days) if days > 0 else 0.0,
        "win_rate_pct": float((pnl > 0).mean() * 100.0) if n else 0.0,
        "gross_profit": gross_profit,
        "gross_loss": gross_loss,
        "profit_factor": _ratio(gross_profit, gross_loss) if gross_profit > 0 or gross_loss > 0 else 0.0,
        "avg_trade_pnl": float(pnl.mean()) if n else 0.0,
        "avg_trade_return_pct": float(ret.mean()) if n else 0.0,
        "best_trade_pnl": float(pnl.max()) if n else 0.0,
        "worst_trade_pnl": float(pnl.min()) if n else 0.0,
        "best_trade_return_pct": float(ret.max()) if n else 0.0,
        "worst_trade_return_pct": float(ret.min()) if n else 0.0,
        "avg_hold_seconds": float(hold.mean()) if n else 0.0,
    }


def compute_metrics(result: BacktestResult) -> dict[str, Any]:
    """All headline figures of `result` as JSON-serialisable scalars (see the module docstring for definitions).

    Values are plain float/int/bool, None for an unknown share_real, and `halt_times` is a list of ISO strings.
    """
    n_bars = result.n_bars
    days = covered_seconds(result.timestamps, result.bar_seconds) / 86400.0
    coverage = n_bars * result.bar_seconds / (days * 86400.0) if days > 0 else 1.0
    final = result.final_equity
    initial = float(result.initial_equity)
    growth = final / initial if initial > 0 else 0.0
    returns = bar_returns(result)
    sharpe, sortino = sharpe_sortino(returns, result.bar_seconds, coverage)
    dd = drawdown_series(result.equity, initial)
    max_dd = float(dd.max()) if dd.size else 0.0
    annual = _scaled_return_pct(growth, days, 365.0)
    actions = np.asarray(result.actions)
    decided = actions >= 0
    if result.halts:
        decided[min(result.halts) :] = False  # only decisions that could still open positions
    n_decisions = int(decided.sum())
    position = np.asarray(result.position, dtype=np.float64)
    halt_times = [t.isoformat() for t in result.halt_times]
    share_real = _share_real(result.provenance)
    out: dict[str, Any] = {
        "initial_equity": initial,
        "final_equity": float(final),
        "total_return_pct": float((growth - 1.0) * 100.0),
        "monthly_return_pct": _scaled_return_pct(growth, days, 30.0),
        "annual_return_pct": annual,
        "sharpe": sharpe,
        "sortino": sortino,
        "max_drawdown_pct": max_dd,
        "calmar": _ratio(annual, max_dd),
    }
    out.update(_trade_metrics(result.trades, days))
    out.update(
        {
            "hold_rate_pct": float((actions[decided] == 0).sum() / n_decisions * 100.0) if n_decisions else 0.0,
            "n_decisions": n_decisions,
            "exposure_pct": float((position != 0).mean() * 100.0) if position.size else 0.0,
            "fees_paid": float(result.fees),
            "funding_paid": float(result.funding),
            "days": float(days),
            "n_bars": int(n_bars),
            "bar_seconds": int(result.bar_seconds),
            "share_real": share_real,
            "real_days": None if share_real is None else float(share_real * days),
            "halted": bool(result.halts),
            "n_halts": len(result.halts),
            "first_halt_time": halt_times[0] if halt_times else None,
            "halt_times": halt_times,
            **fee_figures(result.provenance),
        }
    )
    out.update(data_shares(result.provenance, days))
    from backtest.execution_metrics import execution_metrics, uses_maker

    if uses_maker(result):
        out.update(execution_metrics(result))
    return out


def fee_figures(provenance: dict[str, Any]) -> dict[str, Any]:
    """The fee schedule a run charged, from its provenance: rates in percent and the schedule's label."""
    fees = provenance.get("fees") or {}
    return {
        "fee_taker_pct": fees.get("taker_pct"),
        "fee_maker_pct": fees.get("maker_pct"),
        "fee_schedule": fees.get("label"),
    }


def session_breakdown(result: BacktestResult, coin: str | None = None) -> dict[str, dict[str, Any]]:
    """Trades and PnL by the market's session state (`backtest.venue.calendar`: open, daily_break, weekend,
    holiday), for a market whose price follows an outside market (xyz:XYZ100); a 24/7 market is all "open".

    Per state: `bars` (bars opening in it), `bar_pnl` (equity change over those bars, after fees and funding),
    `exposure_pct` (share of them with a position at the close), and over trades by the state at their entry bar's
    open: `n_trades`, `trade_pnl` (net), `win_rate_pct`, `avg_trade_pnl`. The coin comes from the provenance.
    """
    from backtest.venue.calendar import STATE_NAMES, calendar_for

    coin = coin or result.provenance.get("coin") or ""
    ts = np.asarray(result.timestamps, dtype=np.int64)
    states = calendar_for(coin).states(ts) if ts.size else np.zeros(0, dtype=np.int8)
    eq = equity_path(result)
    bar_pnl = np.diff(eq)
    position = np.asarray(result.position, dtype=np.float64)
    trades = result.trades
    n = len(trades)
    pnl = trades["pnl"].to_numpy(dtype=np.float64) if n else np.zeros(0)
    entry_bar = trades["entry_bar"].to_numpy(dtype=np.int64) if n else np.zeros(0, dtype=np.int64)
    trade_state = states[np.clip(entry_bar, 0, max(len(states) - 1, 0))] if n and len(states) else np.zeros(0)
    out: dict[str, dict[str, Any]] = {}
    for code, name in enumerate(STATE_NAMES):
        in_state = states == code
        mine = pnl[trade_state == code] if n else pnl
        k = int(in_state.sum())
        out[name] = {
            "bars": k,
            "bar_pnl": float(bar_pnl[in_state].sum()) if k else 0.0,
            "exposure_pct": float((position[in_state] != 0).mean() * 100.0) if k else 0.0,
            "n_trades": int(mine.size),
            "trade_pnl": float(mine.sum()),
            "win_rate_pct": float((mine > 0).mean() * 100.0) if mine.size else 0.0,
            "avg_trade_pnl": float(mine.mean()) if mine.size else 0.0,
        }
    return out


def monthly_returns(result: BacktestResult) -> pd.Series:
    """Return of each calendar month (UTC) in percent: month-end equity over the previous month-end equity.

    The first month is measured against the initial equity. Indexed by a monthly PeriodIndex.
    """
    ts = np.asarray(result.timestamps, dtype=np.int64)
    if ts.size == 0:
        return pd.Series([], index=pd.PeriodIndex([], freq="M"), name="monthly_return_pct", dtype=np.float64)
    months = ts.astype("datetime64[ms]").astype("datetime64[M]")
    last = np.flatnonzero(np.r_[months[1:] != months[:-1], True])
    ends = np.asarray(result.equity, dtype=np.float64)[last]
    starts = np.concatenate(([float(result.initial_equity)], ends[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(starts > 0, (ends / starts - 1.0) * 100.0, 0.0)
    index = pd.PeriodIndex(pd.DatetimeIndex(months[last]), freq="M")
    return pd.Series(pct, index=index, name="monthly_return_pct")
