"""The sweep's self-contained HTML report: score by trial, parameter importance, spread, DSR, the winner's test.

Parameter importance is CORRELATION-BASED: |Spearman rank correlation| between each swept parameter and the trial
score over all trials that reported one (cheap, model-free, and honest about its limits: it sees monotone effects
only, not interactions). Optuna's fANOVA is not used because the Optuna study lives inside the Tune searcher.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backtest.report.html import CSS


def importance(trials: pd.DataFrame, keys: list[str]) -> dict[str, float]:
    """|Spearman rho| between each parameter and the score (0 when undefined), largest first."""
    out: dict[str, float] = {}
    score = pd.to_numeric(trials["score"], errors="coerce")
    for key in keys:
        col = trials.get(f"config/{key}")
        if col is None:
            continue
        x = pd.to_numeric(col, errors="coerce")
        ok = x.notna() & score.notna()
        rho = x[ok].rank().corr(score[ok].rank()) if ok.sum() >= 3 else float("nan")
        out[key] = 0.0 if rho is None or not np.isfinite(rho) else float(abs(rho))
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def spread(trials: pd.DataFrame) -> dict[str, float]:
    """Distribution of trial scores: count, mean, std, min, quartiles, max."""
    s = pd.to_numeric(trials["score"], errors="coerce").dropna()
    if s.empty:
        return {"n": 0}
    q = s.quantile([0.25, 0.5, 0.75])
    return {
        "n": int(s.size),
        "mean": float(s.mean()),
        "std": float(s.std(ddof=1)) if s.size > 1 else 0.0,
        "min": float(s.min()),
        "q25": float(q[0.25]),
        "median": float(q[0.5]),
        "q75": float(q[0.75]),
        "max": float(s.max()),
    }


def score_png(trials: pd.DataFrame) -> str:
    """Score of each trial in start order, with the running best."""
    from backtest.report.plots import _figure, _style, to_png_b64

    s = pd.to_numeric(trials["score"], errors="coerce").to_numpy()
    fig = _figure(7.5, 2.8)
    ax = fig.add_subplot(1, 1, 1)
    idx = np.arange(1, len(s) + 1)
    ax.scatter(idx, s, s=18, color="#3b6fb6", label="trial score")
    ax.plot(idx, np.fmax.accumulate(np.where(np.isfinite(s), s, -np.inf)), color="#1a7f37", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel("walk-forward score")
    ax.legend(fontsize=8)
    _style(ax)
    return to_png_b64(fig)


def _table(rows: list[list[Any]], header: list[str]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.4g}"
        return escape(str(v))

    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def write_sweep_report(out: Path, summary: dict[str, Any], levels: list[dict[str, Any]]) -> Path:
    """Write `<out>/report.html`. `levels`: [{level, trials (DataFrame), keys, dsr (dict), best_config}]."""
    parts = [f"<h1>Sweep {escape(summary['name'])}</h1>"]
    parts.append(f"<p class='sub'>{escape(summary['description'])}</p>")
    gate = summary["gate"]
    cls = "pass-bg" if gate["passed"] else "fail-bg"
    word = "PASSES" if gate["passed"] else "FAILS"
    parts.append(f"<div class='verdict {cls}'>Winner {word} the promotion gate on the test span</div>")
    test_link = summary.get("test_report")
    if test_link:
        parts.append(f"<p>Winner's test backtest: <a href='{escape(test_link)}'>{escape(test_link)}</a></p>")
    t = summary["test"]
    keys = ["sharpe", "monthly_return_pct", "max_drawdown_pct", "profit_factor", "n_trades", "hold_rate_pct", "days"]
    parts.append("<h2>Winner on the test span (touched once)</h2>")
    parts.append(_table([[k, t.get(k)] for k in [*keys, "real_days"]], ["figure", "value"]))
    for lv in levels:
        trials: pd.DataFrame = lv["trials"]
        parts.append(f"<h2>{escape(lv['level'])} level: {len(trials)} trials</h2>")
        parts.append(f"<div class='panel'><img src='data:image/png;base64,{score_png(trials)}' alt='scores'></div>")
        sp = spread(trials)
        parts.append("<p>Spread of trial scores</p>" + _table([[k, v] for k, v in sp.items()], ["stat", "value"]))
        dsr = lv["dsr"]
        parts.append(
            "<p>Deflated Sharpe of the winner (Bailey &amp; López de Prado 2014; per-bar Sharpe over its validation "
            "folds, N = number of trials)</p>" + _table([[k, v] for k, v in dsr.items()], ["figure", "value"])
        )
        imp = importance(trials, lv["keys"])
        parts.append(
            "<p>Parameter importance: |Spearman rank correlation| with the score</p>"
            + _table([[k, v] for k, v in imp.items()], ["parameter", "|rho|"])
        )
        parts.append(
            "<p>Winner's values</p>" + _table([[k, v] for k, v in lv["best_config"].items()], ["parameter", "value"])
        )
        cols = ["trial_id", "score", "iterations", "mean_sharpe", "n_trades", "monthly_return_pct", "max_drawdown_pct"]
        cols += [f"config/{k}" for k in lv["keys"]]
        top = trials.sort_values("score", ascending=False)[[c for c in cols if c in trials]]
        parts.append("<p>All trials, best first</p>" + _table(top.values.tolist(), list(top.columns)))
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Sweep {escape(summary['name'])}</title>"
        f"<style>{CSS}</style></head><body><main>{''.join(parts)}</main></body></html>"
    )
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.html"
    path.write_text(html)
    return path
