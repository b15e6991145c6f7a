"""The self-contained report page: inline CSS, charts as base64 PNG, no external resources.

Every piece of text that comes from data or config is HTML-escaped.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

import pandas as pd
import yaml

from backtest.objectives import ObjectiveCheck, format_value
from backtest.sim.result import BacktestResult

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;background:#f4f5f7;color:#222}
main{max-width:1180px;margin:0 auto;padding:20px 24px 60px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#666;font-size:13px}
.banner{font-size:26px;font-weight:800;letter-spacing:1px;padding:14px 18px;border-radius:8px;margin:14px 0;color:#fff}
.banner small{display:block;font-size:14px;font-weight:500;letter-spacing:0}
.synthetic{background:#b2182b}.hybrid{background:#e08214}.real{background:#1a7f37}.unknown{background:#666}
.proxy{background:#2c5d8f}
.verdict{font-size:20px;font-weight:700;padding:10px 16px;border-radius:8px;margin:10px 0;color:#fff}
.pass-bg{background:#1a7f37}.fail-bg{background:#b2182b}
.breaker{background:#fff0f0;border:3px solid #b2182b;color:#b2182b;font-weight:800;font-size:17px;padding:12px 16px;
border-radius:8px;margin:10px 0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px}
.card{background:#fff;border-radius:8px;padding:12px 14px;box-shadow:0 1px 2px rgba(0,0,0,.08);
border-top:4px solid #bbb}
.card .v{font-size:24px;font-weight:700}.card .k{font-size:12px;color:#666;text-transform:uppercase}
.card.ok{border-top-color:#1a7f37}.card.ok .v{color:#1a7f37}
.card.bad{border-top-color:#b2182b}.card.bad .v{color:#b2182b}
.panel{background:#fff;border-radius:8px;padding:12px;box-shadow:0 1px 2px rgba(0,0,0,.08);margin-bottom:12px}
.panel img{max-width:100%;display:block;margin:0 auto}
.row{display:grid;grid-template-columns:1fr 1fr;gap:12px}
table{border-collapse:collapse;font-size:13px;background:#fff}
th,td{padding:5px 10px;border-bottom:1px solid #eee;text-align:right}th{background:#fafafa}
td:first-child,th:first-child{text-align:left}
tr.pass td.res{color:#fff;background:#1a7f37;font-weight:700}
tr.fail td.res{color:#fff;background:#b2182b;font-weight:700}
td.pos{color:#1a7f37}td.neg{color:#b2182b}
pre{background:#fff;border-radius:8px;padding:12px;font-size:12px;overflow:auto;max-height:480px}
"""


def _num(x: Any, digits: int = 2, suffix: str = "") -> str:
    if x is None:
        return "n/a"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}{suffix}"
    return f"{x:,.{digits}f}{suffix}"


def _card(key: str, value: str, state: bool | None = None) -> str:
    cls = "" if state is None else (" ok" if state else " bad")
    return f'<div class="card{cls}"><div class="k">{escape(key)}</div><div class="v">{escape(value)}</div></div>'


def _cards(m: dict[str, Any], check: ObjectiveCheck) -> str:
    verdict = {r.name: r.passed for r in check.rows}
    cards = [
        _card("total return", _num(m["total_return_pct"], 2, " %"), m["total_return_pct"] >= 0),
        _card("monthly return", _num(m["monthly_return_pct"], 2, " %"), verdict.get("monthly_return_pct")),
        _card("sharpe", _num(m["sharpe"]), verdict.get("sharpe")),
        _card("sortino", _num(m["sortino"])),
        _card("max drawdown", _num(m["max_drawdown_pct"], 2, " %"), verdict.get("max_drawdown_pct")),
        _card("profit factor", _num(m["profit_factor"]), verdict.get("profit_factor")),
        _card("win rate", _num(m["win_rate_pct"], 1, " %")),
        _card("trades", _num(m["n_trades"]), verdict.get("n_trades")),
        _card("trades / day", _num(m["trades_per_day"], 1)),
        _card("hold rate", _num(m["hold_rate_pct"], 1, " %")),
        _card("exposure", _num(m["exposure_pct"], 1, " %")),
        _card("final equity", _num(m["final_equity"], 0, " $")),
        _card("fees paid", _num(m["fees_paid"], 0, " $")),
        _card("funding paid", _num(m["funding_paid"], 0, " $")),
        _card("annual return", _num(m["annual_return_pct"], 1, " %")),
        _card("calmar", _num(m["calmar"])),
        _card("days", _num(m["days"], 1)),
        _card("drawdown halts", _num(m["n_halts"]), not m["halted"]),
    ]
    return f'<div class="cards">{"".join(cards)}</div>'


def data_label(provenance: dict[str, Any], share_real: float | None) -> tuple[str, str, str]:
    """(css class, big label, detail) describing where the bars came from (real, proxy and synthetic shares)."""
    source = str(provenance.get("source", provenance.get("data_source", "")) or "").lower()
    proxy = float(provenance.get("share_proxy") or 0.0)
    pct = "unknown share" if share_real is None else f"{share_real * 100:.1f} % real bars"
    if proxy:
        pct += f", {proxy * 100:.1f} % proxy bars ({(provenance.get('proxy') or {}).get('symbol') or 'another market'})"
    if source == "synthetic" or (share_real == 0 and not proxy):
        return "synthetic", "SYNTHETIC DATA", f"{pct} — these figures say nothing about the real market"
    synthetic = provenance.get("share_synthetic")
    if source == "hybrid" or (synthetic or 0) > 0:
        return "hybrid", "HYBRID DATA", f"{pct}; the rest is synthetic"
    if source == "proxy" or proxy:
        return "proxy", "PROXY DATA", f"{pct}: another market's real bars mapped to this one; no synthetic bar"
    if source == "real" or share_real == 1:
        return "real", "REAL DATA", pct
    if share_real is not None and share_real < 1:
        return "hybrid", "HYBRID DATA", f"{pct}; the rest is synthetic"
    return "unknown", "DATA SOURCE UNKNOWN", "no provenance recorded"


_SHARES = ("share_real", "share_proxy", "share_synthetic")


def data_share_facts(provenance: dict[str, Any], share_real: float | None) -> dict[str, str]:
    """The provenance table's first rows: the shares of real, proxy and synthetic bars."""

    def pct(v: Any) -> str:
        return "n/a" if v is None else f"{float(v) * 100:.1f} %"

    synthetic = provenance.get("share_synthetic")
    if synthetic is None and share_real is not None:
        synthetic = max(0.0, 1.0 - share_real - float(provenance.get("share_proxy") or 0.0))
    return {
        "share of real bars": pct(share_real),
        "share of proxy bars": pct(provenance.get("share_proxy") or (0.0 if share_real is not None else None)),
        "share of synthetic bars": pct(synthetic),
    }


def _objectives(check: ObjectiveCheck) -> str:
    rows = []
    for r in check.rows:
        cls = "pass" if r.passed else "fail"
        rows.append(
            f'<tr class="{cls}"><td>{escape(r.label)}</td><td>{escape(format_value(r.value))}</td>'
            f"<td>{escape(r.op)} {escape(format_value(r.threshold))}</td>"
            f'<td class="res">{"PASS" if r.passed else "FAIL"}</td></tr>'
        )
    verdict = "OBJECTIVES PASSED" if check.passed else "OBJECTIVES FAILED: " + ", ".join(check.failed_names)
    out = [f'<div class="verdict {"pass-bg" if check.passed else "fail-bg"}">{escape(verdict)}</div>']
    if check.circuit_breaker:
        out.append(f'<div class="breaker">{escape(check.circuit_breaker)}</div>')
    out.append(
        '<table class="objectives"><tr><th>objective</th><th>value</th><th>target</th><th>result</th></tr>'
        + "".join(rows)
        + "</table>"
    )
    return "".join(out)


def _plain(v: Any) -> str:
    if isinstance(v, dict | list | tuple):
        return json.dumps(v, default=str, separators=(", ", ": "))
    return "n/a" if v is None else str(v)


def _kv_table(items: dict[str, Any]) -> str:
    body = "".join(f"<tr><td>{escape(str(k))}</td><td>{escape(_plain(v))}</td></tr>" for k, v in items.items())
    return f"<table>{body}</table>"


def _provenance(provenance: dict[str, Any], share_real: float | None) -> str:
    cls, label, detail = data_label(provenance, share_real)
    banner = f'<div class="banner {cls}">{escape(label)}<small>{escape(detail)}</small></div>'
    facts = {**data_share_facts(provenance, share_real), **{k: v for k, v in provenance.items() if k not in _SHARES}}
    return banner + _kv_table(facts)


def _recent_trades(trades: pd.DataFrame, n: int = 25) -> str:
    if not len(trades):
        return "<p>No trades.</p>"
    cols = ["entry_time", "exit_time", "side", "qty", "entry_price", "exit_price", "pnl", "return_pct", "exit_reason"]
    tail = trades.tail(n)
    head = "".join(f"<th>{c}</th>" for c in cols)
    rows = []
    for rec in tail[cols].itertuples(index=False):
        cells = []
        for c, v in zip(cols, rec):
            if c in ("entry_time", "exit_time"):
                text, cls = pd.Timestamp(v).strftime("%Y-%m-%d %H:%M:%S"), ""
            elif c == "side":
                text, cls = ("long" if v > 0 else "short"), ""
            elif c in ("pnl", "return_pct"):
                text, cls = _num(float(v), 3 if c == "return_pct" else 2), ("pos" if v > 0 else "neg" if v < 0 else "")
            elif c == "exit_reason":
                text, cls = str(v), ""
            else:
                text, cls = f"{float(v):,.6g}", ""
            attr = f' class="{cls}"' if cls else ""
            cells.append(f"<td{attr}>{escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    reasons = trades["exit_reason"].value_counts()
    reason_txt = ", ".join(f"{escape(str(k))}: {int(v)}" for k, v in reasons.items() if v > 0)
    return (
        f'<p class="sub">Exit reasons — {reason_txt}. Last {len(tail)} of {len(trades)} trades:</p>'
        f"<table><tr>{head}</tr>{''.join(rows)}</table>"
    )


def _monthly_table(monthly: pd.Series) -> str:
    if not len(monthly):
        return ""
    cells = "".join(f'<td class="{"pos" if v >= 0 else "neg"}">{v:+.2f} %</td>' for v in monthly.to_numpy(dtype=float))
    head = "".join(f"<th>{escape(str(p))}</th>" for p in monthly.index)
    return f"<table><tr>{head}</tr><tr>{cells}</tr></table>"


def _img(b64: str, alt: str) -> str:
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{b64}">'


def render_html(
    result: BacktestResult,
    metrics: dict[str, Any],
    check: ObjectiveCheck,
    title: str,
    images: dict[str, str],
    monthly: pd.Series,
    config: dict[str, Any] | None,
    generated_at: str,
    sessions: dict[str, dict[str, Any]] | None = None,
) -> str:
    """The full report page as one HTML string."""
    m = metrics
    period = ""
    if result.n_bars:
        first = pd.Timestamp(int(result.timestamps[0]), unit="ms", tz="UTC")
        last = pd.Timestamp(int(result.timestamps[-1]), unit="ms", tz="UTC")
        period = f"{first:%Y-%m-%d %H:%M} → {last:%Y-%m-%d %H:%M} UTC"
    sub = (
        f"strategy <b>{escape(result.strategy or 'n/a')}</b> · {escape(period)} · {m['n_bars']:,} bars of "
        f"{result.bar_seconds}s · {m['days']:.1f} days · generated {escape(generated_at)}"
    )
    halts = ""
    if m["halted"]:
        halts = f'<p class="sub">Drawdown halt fired at: {escape(", ".join(m["halt_times"]))}</p>'
    cfg = escape(yaml.safe_dump(config, sort_keys=False, allow_unicode=True)) if config else "no config recorded"
    cls, label, detail = data_label(result.provenance, m.get("share_real"))
    top_banner = (
        "" if cls == "real" else f'<div class="banner {cls}">{escape(label)}<small>{escape(detail)}</small></div>'
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title><style>{CSS}</style></head>
<body><main>
<h1>{escape(title)}</h1><div class="sub">{sub}</div>
<div class="sub">fees: {escape(m.get("fee_schedule") or "schedule not recorded")}</div>
{top_banner}
{_objectives(check)}
<h2>Headline figures</h2>{_cards(m, check)}
<h2>Equity and drawdown</h2><div class="panel">{_img(images["equity"], "equity and drawdown")}{halts}</div>
<h2>Trades on price</h2><div class="panel">{_img(images["trades"], "trades on price")}</div>
<h2>Monthly returns</h2><div class="panel">{_img(images["monthly"], "monthly returns")}{_monthly_table(monthly)}</div>
<h2>Trade density and outcomes</h2>
<div class="panel">{_img(images["density"], "trade density by hour and weekday")}</div>
<div class="row"><div class="panel">{_img(images["pnl"], "trade pnl histogram")}</div>
<div class="panel">{_kv_table(_trade_facts(m))}</div></div>
{_execution(m)}
<h2>Costs</h2><div class="panel">{_fees(result.provenance.get("fees"), m)}</div>
<h2>By market session</h2><div class="panel">{_sessions(sessions, result.provenance.get("coin"))}</div>
<h2>Recent trades</h2><div class="panel">{_recent_trades(result.trades)}</div>
<h2>Data provenance</h2><div class="panel">{_provenance(result.provenance, m.get("share_real"))}</div>
<h2>Run config</h2><pre>{cfg}</pre>
</main></body></html>
"""


def _execution(m: dict[str, Any]) -> str:
    """Maker execution: order fates, fill rate, time to fill and markout per purpose; cost per round trip and the
    taker-only twin (same strategy, data and seed, every order at market) side by side. Empty for market runs."""
    if "cost_per_round_trip_bps" not in m:
        return ""
    cols = ["orders", "filled", "fill rate", "rejected (would cross)", "expired", "to market", "cancelled",
            "time to fill", f"markout after {m['adverse_bars']} bars"]  # fmt: skip
    rows = []
    for kind in ("entry", "exit"):
        ttf = m.get(f"{kind}_time_to_fill_bars")
        rate = m.get(f"{kind}_fill_rate_pct")
        mark = m.get(f"{kind}_markout_bps")
        cells = [
            f"{kind} ({m.get(f'execution_{kind}', 'market')})",
            *(f"{m[f'{kind}_orders_{k}']:,}" for k in ("submitted", "filled")),
            "n/a" if rate is None else f"{rate:.1f} %",
            *(f"{m[f'{kind}_orders_{k}']:,}" for k in ("rejected", "expired", "converted", "cancelled")),
            "n/a" if ttf is None else f"{ttf:.2f} bars",
            "n/a" if mark is None else f"{mark:+.2f} bps",
        ]
        rows.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    head = "<tr><th></th>" + "".join(f"<th>{escape(c)}</th>" for c in cols) + "</tr>"
    facts = {
        "take-profit": m.get("execution_take_profit", "market"),
        "cost per round trip (fees + taker slippage)": f"{m['cost_per_round_trip_bps']:.2f} bps",
        "maker notional / fees saved on it vs taker": f"{m['maker_notional']:,.0f} / {_num(m['fees_saved_vs_taker'])}",
    }
    if "twin_fees_paid" in m:
        facts["fees: this run / taker-only twin"] = f"{_num(m['fees_paid'])} / {_num(m['twin_fees_paid'])}"
        facts["cost per round trip: this run / twin"] = (
            f"{m['cost_per_round_trip_bps']:.2f} / {m['twin_cost_per_round_trip_bps']:.2f} bps"
        )
        facts["total return: this run / twin"] = f"{m['total_return_pct']:+.2f} % / {m['twin_total_return_pct']:+.2f} %"
        facts["trades: this run / twin"] = f"{m['n_trades']:,} / {m['twin_n_trades']:,}"
    return (
        '<h2>Execution (maker orders)</h2><div class="panel"><p class="sub">Post-only limits fill only when a later '
        "price trades through them (docs/ARCHITECTURE.md). Markout: the mid move in the fill's direction after the "
        "fill; negative = adverse selection.</p>"
        f"<table>{head}{''.join(rows)}</table>{_kv_table(facts)}</div>"
    )


def _fees(fees: dict[str, Any] | None, m: dict[str, Any]) -> str:
    """The fee schedule charged and where it came from, with what it cost."""
    if not fees:
        return "<p>No fee schedule recorded for this run.</p>"
    market = fees.get("market") or {}
    facts = {
        "schedule": fees.get("label"),
        "source": fees.get("source"),
        "taker / maker": f"{fees['taker_pct']:.4f} % / {fees['maker_pct']:.4f} %",
        "base rates (before the market's multiple)": f"{fees['base_taker'] * 100:.4f} % / "
        f"{fees['base_maker'] * 100:.4f} %",
        "market": f"{'HIP-3' if market.get('hip3') else 'validator market'}, deployer fee scale "
        f"{market.get('deployer_fee_scale')}, growth mode {'on' if market.get('growth_mode') else 'off'}",
        "venue answer": " ".join(str(x) for x in (fees.get("as_of"), fees.get("url")) if x) or "none (default)",
        "fees paid": _num(m.get("fees_paid")),
    }
    return _kv_table(facts)


def _sessions(sessions: dict[str, dict[str, Any]] | None, coin: str | None) -> str:
    """Trades and PnL by the session state of the market's outside market (open, break, weekend, holiday)."""
    if not sessions:
        return "<p>No session breakdown.</p>"
    head = ("state", "bars", "bar PnL", "exposure", "trades", "trade PnL", "win rate", "avg trade PnL")
    rows = []
    for name, s in sessions.items():
        cells = [name.replace("_", " "), _num(s["bars"]), _num(s["bar_pnl"]), _num(s["exposure_pct"], 1, " %"),
                 _num(s["n_trades"]), _num(s["trade_pnl"]), _num(s["win_rate_pct"], 1, " %"),
                 _num(s["avg_trade_pnl"])]  # fmt: skip
        rows.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    note = (
        f"Session states of {escape(coin or 'the market')} from backtest/venue/calendar.py (a 24/7 market is always "
        "open). Bar PnL: the equity change over bars opening in the state; trades by the state at their entry."
    )
    header = "".join(f"<th>{h}</th>" for h in head)
    return f'<p class="sub">{note}</p><table><tr>{header}</tr>{"".join(rows)}</table>'


def _trade_facts(m: dict[str, Any]) -> dict[str, str]:
    return {
        "long / short": f"{m['n_long']:,} / {m['n_short']:,}",
        "gross profit / loss": f"{_num(m['gross_profit'])} / {_num(m['gross_loss'])}",
        "average trade pnl": _num(m["avg_trade_pnl"]),
        "best / worst trade pnl": f"{_num(m['best_trade_pnl'])} / {_num(m['worst_trade_pnl'])}",
        "best / worst trade %": f"{_num(m['best_trade_return_pct'], 3)} / {_num(m['worst_trade_return_pct'], 3)}",
        "average hold": f"{_num(m['avg_hold_seconds'], 0)} s",
        "decisions": _num(m["n_decisions"]),
    }
