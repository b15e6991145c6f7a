"""A short console summary of a backtest's metrics."""

from __future__ import annotations

from typing import Any


def data_shares_text(m: dict[str, Any]) -> str:
    """`SYNTHETIC`, or the shares: `12.0 % real (3.1 days), 80.0 % proxy (21.0 days), 8.0 % synthetic`."""
    real, proxy = m.get("share_real"), m.get("share_proxy") or 0.0
    if real is None:
        return "unknown"
    if real == 0 and proxy == 0:
        return "SYNTHETIC"
    synthetic = m.get("share_synthetic")
    synthetic = max(0.0, 1.0 - real - proxy) if synthetic is None else synthetic
    parts = [f"{real * 100:.1f} % real ({m.get('real_days') or 0:.1f} days)"]
    if proxy:
        parts.append(f"{proxy * 100:.1f} % proxy ({m.get('proxy_days') or 0:.1f} days)")
    parts.append(f"{synthetic * 100:.1f} % synthetic")
    return ", ".join(parts)


def headline(metrics: dict[str, Any]) -> str:
    """Five lines: returns, risk, trading activity, data/halts and the fee schedule, for printing after a run."""
    m = metrics
    data = data_shares_text(m)
    halts = f"halted x{m['n_halts']} (first {m['first_halt_time']})" if m.get("halted") else "no drawdown halt"
    return "\n".join(
        [
            f"return {m['total_return_pct']:+.2f} % total, {m['monthly_return_pct']:+.2f} % / month, "
            f"{m['annual_return_pct']:+.1f} % / year; equity {m['initial_equity']:,.2f} -> {m['final_equity']:,.2f}",
            f"risk   sharpe {m['sharpe']:.2f}, sortino {m['sortino']:.2f}, max drawdown {m['max_drawdown_pct']:.2f} %, "
            f"calmar {m['calmar']:.2f}",
            f"trades {m['n_trades']:,} ({m['trades_per_day']:.1f}/day, {m['n_long']:,} long / {m['n_short']:,} short), "
            f"win {m['win_rate_pct']:.1f} %, PF {m['profit_factor']:.2f}, hold rate {m['hold_rate_pct']:.1f} %, "
            f"exposure {m['exposure_pct']:.1f} %, fees {m['fees_paid']:,.2f}, funding {m['funding_paid']:,.2f}",
            f"data   {m['days']:.1f} days, {m['n_bars']:,} bars, {data}; {halts}",
            *execution_lines(m),
            f"fees   {m.get('fee_schedule') or 'unknown schedule'}",
        ]
    )


def _pct(x: Any) -> str:
    return "n/a" if x is None else f"{x:.1f} %"


def _bps(x: Any) -> str:
    return "n/a" if x is None else f"{x:+.2f} bps"


def execution_lines(m: dict[str, Any]) -> list[str]:
    """Maker execution (when a maker style was on): per purpose, orders and their fates, fill rate, time to fill and
    the markout after `adverse_bars` bars; then cost per round trip and fees saved on the maker fills."""
    if "cost_per_round_trip_bps" not in m:
        return []
    lines = []
    for kind in ("entry", "exit"):
        style = m.get(f"execution_{kind}")
        sent = m.get(f"{kind}_orders_submitted", 0)
        if style != "maker" and not sent:
            continue
        ttf = m.get(f"{kind}_time_to_fill_bars")
        lines.append(
            f"{kind:<6} maker: {sent:,} orders, filled {m[f'{kind}_orders_filled']:,} "
            f"(fill rate {_pct(m[f'{kind}_fill_rate_pct'])}), rejected {m[f'{kind}_orders_rejected']:,} (would "
            f"cross), expired {m[f'{kind}_orders_expired']:,}, to market {m[f'{kind}_orders_converted']:,}, "
            f"cancelled {m[f'{kind}_orders_cancelled']:,}; time to fill "
            f"{'n/a' if ttf is None else f'{ttf:.2f} bars'}, markout {_bps(m[f'{kind}_markout_bps'])} "
            f"after {m['adverse_bars']} bars"
        )
    lines.append(
        f"cost   {m['cost_per_round_trip_bps']:.2f} bps per round trip (fees + taker slippage), maker fills on "
        f"{m['maker_notional']:,.0f} notional saved {m['fees_saved_vs_taker']:,.2f} in fees vs taker"
    )
    if "twin_fees_paid" in m:
        lines.append(
            f"twin   taker-only: fees {m['twin_fees_paid']:,.2f} (this run {m['fees_paid']:,.2f}), "
            f"{m['twin_cost_per_round_trip_bps']:.2f} bps per round trip, return {m['twin_total_return_pct']:+.2f} %, "
            f"{m['twin_n_trades']:,} trades"
        )
    return lines
