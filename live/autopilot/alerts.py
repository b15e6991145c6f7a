"""What a finished cycle tells a person: the autopilot's alerts, as (event, figures) pairs (pure).

A grade that changed (or the first one), a promotion with the gate's figures and the swap, a cycle whose candidates
were all refused, a sweep or training that failed, any other failed step. `run_cycle` writes them with
`Journal.alert` into the autopilot's own journal (`<autopilot.dir>/<coin>/journal-*.jsonl`), which the dashboard and
the pushes (`live.alerts`) read; the levels and messages are the catalog's (`live.alerts.events`).
"""

from __future__ import annotations

from typing import Any

TEST_KEYS = ("monthly_return_pct", "max_drawdown_pct", "profit_factor", "n_trades", "sharpe")


def cycle_alerts(
    state: dict[str, Any], previous_status: str | None, judge_days: float, cycle_hours: float, improve_on: list[str]
) -> list[tuple[str, dict[str, Any]]]:
    """The alerts of the cycle in `state` (its steps' outputs), `previous_status` the last recorded cycle's grade."""
    steps = state.get("steps") or {}
    cycle = state.get("cycle")
    out: list[tuple[str, dict[str, Any]]] = []
    judged = steps.get("judge") or {}
    policy = (judged.get("policy") or {}).get("policy_id")
    grade = steps.get("grade") or {}
    level = grade.get("level")
    if level and level != previous_status:
        act = steps.get("act") or {}
        metrics = judged.get("metrics") or {}
        size = act.get("size_multiplier") or {}
        out.append(("grade_changed", {
            "cycle": cycle, "old": previous_status, "new": level, "reasons": grade.get("reasons") or [],
            "policy": policy, "judge_days": judge_days, "sharpe": metrics.get("sharpe"),
            "max_drawdown_pct": metrics.get("max_drawdown_pct"), "n_trades": metrics.get("n_trades"),
            "actions": act.get("actions") or [], "size_old": size.get("old"), "size_new": size.get("new"),
            "trader": "note" not in act, "improve": level in improve_on,
        }))  # fmt: skip
    prom = steps.get("promote") or {}
    if prom.get("promoted"):
        swap = prom.get("swap") or {}
        test = prom.get("test") or {}
        out.append(("promoted", {
            "cycle": cycle, "id": prom["promoted"], "kind": prom.get("kind"),
            "test_sharpe": test.get("sharpe"), "live_sharpe": prom.get("live_test_sharpe"),
            "margin": prom.get("margin"), **{k: test.get(k) for k in TEST_KEYS if k != "sharpe"},
            "for_live": prom.get("for_live"), "gate": prom.get("gate"), "swapped": bool(swap),
            "old": swap.get("old") or policy, "resumed": bool(swap.get("resumed")),
        }))  # fmt: skip
    elif prom.get("refused"):
        out.append(("promotion_refused", {"cycle": cycle, "refused": prom["refused"], "policy": policy}))
    failed = state.get("failed")
    if isinstance(failed, dict):
        event = failed.get("event") or "cycle_failed"
        out.append((event, {"cycle": cycle, "step": failed.get("step"), "what": failed.get("what"),
                            "error": failed.get("error"), "cycle_hours": cycle_hours}))  # fmt: skip
    return out
