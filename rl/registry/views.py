"""Text views of registry entries for the console (list and show)."""

from __future__ import annotations

from typing import Any


def _fmt(value: Any) -> str:
    from backtest.objectives import format_value

    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return format_value(float(value))
    return str(value)


def render_table(header: list[str], rows: list[list[Any]]) -> str:
    """A plain aligned text table."""
    cells = [header, *[[_fmt(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def data_columns(test: dict[str, Any]) -> list[Any]:
    """real days, proxy days and the synthetic share (percent) of an entry's test figures (proxy 0 before proxies)."""
    real = test.get("share_real")
    synthetic = test.get("share_synthetic")
    if synthetic is None and real is not None:
        synthetic = max(0.0, 1.0 - real - (test.get("share_proxy") or 0.0))
    proxy_days = test.get("proxy_days", 0.0 if test.get("real_days") is not None else None)
    return [test.get("real_days"), proxy_days, None if synthetic is None else round(synthetic * 100, 1)]


def list_table(entries: list[dict[str, Any]]) -> str:
    header = ["id", "kind", "coin", "status", "test sharpe", "test month %", "test dd %", "trades", "gate", "real days",
              "proxy days", "synthetic %"]  # fmt: skip
    rows = []
    for e in entries:
        t = e.get("test") or {}
        gate = e.get("gate") or {}
        verdict = None if not gate else ("pass" if gate.get("passed") else "fail")
        row = [e["id"], e["kind"], e["coin"], e["status"], t.get("sharpe"), t.get("monthly_return_pct")]
        rows.append([*row, t.get("max_drawdown_pct"), t.get("n_trades"), verdict, *data_columns(t)])
    return render_table(header, rows) if rows else "registry is empty"


def show_text(entry: dict[str, Any]) -> str:
    keys = ["sharpe", "monthly_return_pct", "max_drawdown_pct", "profit_factor", "n_trades", "hold_rate_pct", "days"]
    figures = render_table(
        ["figure", "validation", "test"],
        [
            [k, (entry.get("validation") or {}).get(k), (entry.get("test") or {}).get(k)]
            for k in [*keys, "real_days", "proxy_days", "share_real", "share_proxy", "share_synthetic"]
        ],
    )
    meta = entry.get("metadata") or {}
    data = meta.get("data") or {}
    history = render_table(
        ["at", "from", "to", "override", "reason"],
        [[h["at"], h["from"], h["to"], h.get("override", False), h["reason"]] for h in entry["history"]],
    )
    gate = entry.get("gate") or {}
    lines = [
        f"id:         {entry['id']}",
        f"kind:       {entry['kind']}   coin: {entry['coin']}   status: {entry['status']}",
        f"checkpoint: {entry['checkpoint']}",
        f"created:    {entry['created']}",
        f"seed:       {meta.get('seed')}   data: {data.get('source')} {data.get('days')} days, "
        f"shares real {_fmt(data.get('share_real'))} / proxy {_fmt(data.get('share_proxy'))} / synthetic "
        f"{_fmt(data.get('share_synthetic'))}",
        f"gate:       {'-' if not gate else ('PASS' if gate.get('passed') else 'FAIL ' + str(gate.get('failed')))}"
        f"   min_trades {entry.get('min_trades')}",
        "",
        figures,
        "",
        history,
    ]
    return "\n".join(lines)
