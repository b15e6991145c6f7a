"""The Research page's figures: registry groups and gate rows, backtest reports, sweeps, links into Ray."""

from __future__ import annotations

from typing import Any

from live.dashboard.views.fmt import OPS, fmt_num, gate_text


def registry_group(entry: dict[str, Any]) -> str:
    """promoted | candidate | refused (a candidate whose gate failed) | retired."""
    status = entry.get("status")
    gate = entry.get("gate")
    if status == "candidate" and isinstance(gate, dict) and not gate.get("passed"):
        return "refused"
    return str(status)


def registry_rows(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per entry: promoted first, then candidates, refused, retired; newest first inside a group."""
    order = {"promoted": 0, "candidate": 1, "refused": 2, "retired": 3}
    rows = []
    for e in sorted(entries, key=lambda e: str(e.get("created", "")), reverse=True):
        t = e.get("test") or {}
        rows.append(
            {
                "group": registry_group(e),
                "id": e.get("id"),
                "kind": e.get("kind"),
                "coin": e.get("coin"),
                "created": e.get("created"),
                "test sharpe": fmt_num(t.get("sharpe")),
                "test month %": fmt_num(t.get("monthly_return_pct")),
                "test dd %": fmt_num(t.get("max_drawdown_pct")),
                "trades": t.get("n_trades", "-"),
                "gate": gate_text(e.get("gate")),
            }
        )
    rows.sort(key=lambda r: order.get(r["group"], 9))
    return rows


def gate_rows(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The gate's objective rows of one registry entry (value op threshold, PASS/FAIL)."""
    gate = entry.get("gate") or {}
    return [
        {
            "objective": r.get("label") or r.get("name"),
            "value": fmt_num(r.get("value"), 3),
            "target": f"{OPS.get(r.get('op'), r.get('op'))} {fmt_num(r.get('threshold'), 3)}",
            "result": "PASS" if r.get("passed") else "FAIL",
        }
        for r in gate.get("rows") or []
    ]


def report_rows(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Backtest report folders (each `{"name", "doc": metrics.json, "html": path or None}`), newest first."""
    rows = []
    for r in reports:
        doc = r.get("doc") or {}
        m = doc.get("metrics") or {}
        prov = doc.get("provenance") or {}
        rows.append(
            {
                "report": r.get("name"),
                "strategy": doc.get("strategy") or "-",
                "generated": doc.get("generated_at") or "-",
                "data": f"{prov.get('source', '-')} ({fmt_num(100 * (prov.get('share_real') or 0), 0)} % real"
                + (f", {fmt_num(100 * prov['share_proxy'], 0)} % proxy" if prov.get("share_proxy") else "")
                + ")",
                "return %": fmt_num(m.get("total_return_pct")),
                "sharpe": fmt_num(m.get("sharpe")),
                "max dd %": fmt_num(m.get("max_drawdown_pct")),
                "trades": m.get("n_trades", "-"),
                "objectives": "PASS" if (doc.get("objectives") or {}).get("passed") else "FAIL",
                "html": r.get("html"),
            }
        )
    return rows


def sweep_rows(sweeps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sweeps (each `{"name", "doc": summary.json, "html": path or None}`): gate, test figures, deflated Sharpe and
    trial counts per level."""
    rows = []
    for s in sweeps:
        doc = s.get("doc") or {}
        t = doc.get("test") or {}
        levels = doc.get("levels") or []
        dsr = "; ".join(f"{lv.get('level')} {fmt_num((lv.get('dsr') or {}).get('dsr'), 3)}" for lv in levels) or "-"
        trials = "; ".join(f"{lv.get('level')} {(lv.get('dsr') or {}).get('n_trials', '-')}" for lv in levels) or "-"
        rows.append(
            {
                "sweep": s.get("name"),
                "gate": gate_text(doc.get("gate")),
                "deflated sharpe": dsr,
                "trials": trials,
                "test sharpe": fmt_num(t.get("sharpe")),
                "test month %": fmt_num(t.get("monthly_return_pct")),
                "registry id": doc.get("registry_id") or "-",
                "seconds": fmt_num(doc.get("seconds"), 0),
                "html": s.get("html"),
            }
        )
    return rows


def ray_links(base_url: str) -> dict[str, str]:
    """Links into the Ray dashboard (overview, jobs, actors, cluster)."""
    base = base_url.rstrip("/")
    return {"overview": base + "/", "jobs": base + "/#/jobs", "actors": base + "/#/actors",
            "cluster": base + "/#/cluster"}  # fmt: skip
