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


def list_table(entries: list[dict[str, Any]]) -> str:
    header = ["id", "kind", "coin", "status", "test sharpe", "test month %", "test dd %", "trades", "gate", "real days"]
    rows = []
    for e in entries:
        t = e.get("test") or {}
        gate = e.get("gate") or {}
        verdict = None if not gate else ("pass" if gate.get("passed") else "fail")
        row = [e["id"], e["kind"], e["coin"], e["status"], t.get("sharpe"), t.get("monthly_return_pct")]
        rows.append([*row, t.get("max_drawdown_pct"), t.get("n_trades"), verdict, t.get("real_days")])
    return render_table(header, rows) if rows else "registry is empty"


def show_text(entry: dict[str, Any]) -> str:
    keys = ["sharpe", "monthly_return_pct", "max_drawdown_pct", "profit_factor", "n_trades", "hold_rate_pct", "days"]
    figures = render_table(
        ["figure", "validation", "test"],
        [[k, (entry.get("validation") or {}).get(k), (entry.get("test") or {}).get(k)] for k in [*keys, "real_days"]],
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
        f"share_real {_fmt(data.get('share_real'))}",
        f"gate:       {'-' if not gate else ('PASS' if gate.get('passed') else 'FAIL ' + str(gate.get('failed')))}"
        f"   min_trades {entry.get('min_trades')}",
        "",
        figures,
        "",
        history,
    ]
    return "\n".join(lines)
