"""One autopilot cycle, step by step; each step's output is saved before the next starts (resumable).

1. data     bring real bars up to date (fetch the tail the API still has) and load the configured dataset
2. judge    backtest the live (or promoted) policy on the last `autopilot.judge_days`; replay the live session
3. grade    CRITICAL / POOR / MODERATE / GOOD (live/autopilot/grade.py)
4. act      CRITICAL: pause the trader (flatten, no opens); POOR: size down; GOOD: size up; MODERATE: keep
5. improve  for the grades in `autopilot.improve_on`: an execution sweep of the live strategy, then a retrain (or a
            learning sweep) with the winning parameters, within `autopilot.budget_minutes`; every candidate is
            tested on the test span and registered with its gate verdict
6. promote  the best candidate that passes the gate (the live gate on a real venue) and beats the live policy's
            test-span Sharpe by `autopilot.promote_margin_sharpe` is promoted and hot-swapped into the trader; a
            paused trader resumes then. Refusals are recorded with their reasons.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backtest.config import REPO_ROOT, Objectives, Params, params_from_dict
from backtest.data.inspect import shares_text
from live.autopilot.alerts import TEST_KEYS, cycle_alerts
from live.autopilot.book import STEPS, Book
from live.autopilot.grade import grade, size_after
from live.control import LiveControl, TraderNotFound
from live.service import actor_name, coin_slug, entry_params, journal_base

KEY_METRICS = (
    "total_return_pct", "monthly_return_pct", "sharpe", "max_drawdown_pct", "profit_factor", "n_trades",
    "win_rate_pct", "hold_rate_pct", "days", "share_real", "real_days", "share_proxy", "proxy_days", "halted",
)  # fmt: skip


@dataclass
class Context:
    """What every step needs: configs, where things live, how to reach the trader, the clock and budget."""

    params: Params
    objectives: Objectives
    book: Book
    registry_root: str | Path | None  # a path or a URI (None: the registry's default)
    tune_dir: str | Path  # where sweeps go: a path or a URI (cluster.storage)
    log: Callable[[str], None] = print
    control: LiveControl | None = None
    started: float = field(default_factory=time.monotonic)
    doing: tuple[str, str] | None = None  # the improve step's sweep or training under way: (alert event, what)

    @property
    def coin(self) -> str:
        return self.params.market.coin

    @property
    def cfg(self) -> Any:
        return self.params.autopilot

    def budget_left_s(self) -> float:
        return self.cfg.budget_minutes * 60 - (time.monotonic() - self.started)

    def source(self) -> str:
        return self.params.backtest.data_source if self.cfg.data == "config" else self.cfg.data


def find_trader(params: Params) -> LiveControl | None:
    try:
        return LiveControl.find(journal_base(params), coin_slug(params.market.coin), actor_name(params.market.coin))
    except TraderNotFound:
        return None


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: metrics.get(k) for k in KEY_METRICS if k in metrics}


def _dataset(ctx: Context, days: float):
    from backtest.data.load import load_dataset
    from backtest.features import compute_features
    from backtest.sim import Market

    ds = load_dataset(ctx.params, ctx.source(), days)
    features = compute_features(ds.bars, ctx.params.trading, ctx.params.market.coin)
    return ds.bars, Market.from_bars(ds.bars, ctx.params, ds.funding_hourly), features, dict(ds.provenance)


# --- 1. data ------------------------------------------------------------------------------------------------------
def step_data(ctx: Context, state: dict[str, Any]) -> dict[str, Any]:
    source = ctx.source()
    fetched = None
    if source in ("real", "proxy", "hybrid"):
        from backtest.data.hyperliquid import fetch_to_store
        from backtest.data.load import data_root
        from backtest.data.store import BarStore
        from backtest.venue.retry import RetryPolicy, describe_error

        m = ctx.params.market
        try:
            report = fetch_to_store(BarStore(data_root(ctx.params)), m.base_url, m.coin, m.dex,
                                    ctx.params.backtest.interval, min(ctx.cfg.data_days, 3.5), m.request_timeout_s,
                                    progress=False, policy=RetryPolicy(max_attempts=3))  # fmt: skip
            fetched = report.message()
        except Exception as exc:
            fetched = f"fetching new bars failed ({describe_error(exc)}); using the store as it is"
        ctx.log(f"data: {fetched}")
    bars, _, _, prov = _dataset(ctx, ctx.cfg.data_days)
    ctx.log(f"data: {len(bars):,} bars ({prov['source']}: {shares_text(prov)}) {prov['start']} .. {prov['end']}")
    keep = ("source", "share_real", "share_proxy", "share_synthetic", "n_bars", "start", "end", "coin", "interval",
            "gaps")  # fmt: skip
    return {"source": source, "fetch": fetched, "provenance": {k: prov.get(k) for k in keep}}


# --- 2. judge -----------------------------------------------------------------------------------------------------
def live_policy(ctx: Context) -> dict[str, Any]:
    """What trades now: the trader's policy, else the registry's promoted one, else the rules."""
    from live.service import ServiceError, choose_strategy

    if ctx.control is not None:
        st = ctx.control.status()
        policy_id, spec = st.get("policy_id"), st.get("strategy_spec") or "rules"
        from rl.registry import Registry, RegistryError

        try:
            entry = Registry(ctx.registry_root).get(policy_id)
            p = entry_params(entry, ctx.params)
        except RegistryError:
            entry, p = None, ctx.params
        return {"policy_id": policy_id, "spec": spec, "params": p.model_dump(mode="json"), "where": "trader",
                "mode": st.get("mode"), "entry_kind": entry["kind"] if entry else None}  # fmt: skip
    try:
        choice = choose_strategy("promoted", ctx.params, ctx.registry_root)
        return {
            "policy_id": choice.policy_id,
            "spec": choice.spec,
            "params": choice.params.model_dump(mode="json"),
            "where": "registry",
            "mode": None,
            "entry_kind": choice.entry["kind"] if choice.entry else None,
        }
    except ServiceError:
        return {"policy_id": "rules", "spec": "rules", "params": ctx.params.model_dump(mode="json"),
                "where": "default (nothing promoted, no trader)", "mode": None, "entry_kind": None}  # fmt: skip


def step_judge(ctx: Context, state: dict[str, Any]) -> dict[str, Any]:
    from backtest.metrics import compute_metrics
    from backtest.runner import run_backtest
    from rl.gate import scaled_min_trades
    from rl.tuning.walkforward import slice_span

    policy = live_policy(ctx)
    p = params_from_dict(policy["params"])
    bars, market, features, prov = _dataset(ctx, ctx.cfg.data_days)
    n = market.n_bars
    window_bars = max(2, min(n - 1, round(ctx.cfg.judge_days * 86400 / p.backtest.bar_seconds)))
    sl = slice_span(bars, market, features, prov, (n - window_bars, n), p.backtest.warmup_bars)
    result = run_backtest(policy["spec"], p, ctx.objectives, sl.market, sl.features, sl.provenance, workers=0)
    metrics = compute_metrics(result)
    metrics["halted"] = bool(result.halts)
    min_trades = scaled_min_trades(p.backtest.min_trades_threshold, metrics["days"], p.backtest.days)
    live = live_vs_backtest(ctx, policy)
    ctx.log(f"judge: {policy['policy_id']} ({policy['spec']}) over the last {metrics['days']:.1f} days: "
            f"Sharpe {metrics['sharpe']:.2f}, return {metrics['total_return_pct']:.2f} %, max drawdown "
            f"{metrics['max_drawdown_pct']:.2f} %, {metrics['n_trades']} trades")  # fmt: skip
    return {"policy": {k: v for k, v in policy.items() if k != "params"}, "metrics": _summary(metrics),
            "min_trades": min_trades, "live": live}  # fmt: skip


def live_vs_backtest(ctx: Context, policy: dict[str, Any]) -> dict[str, Any] | None:
    """The live session against the backtester on the very bars it traded (live/replay.py)."""
    if ctx.control is None or ctx.control.root is None:
        return None
    from backtest.config import objectives_from_dict
    from live.replay import replay, sessions

    found = sessions(ctx.control.root)
    if not found or len(found[-1].decisions) < 2:
        return {"note": "no live session with decisions yet"}
    s = found[-1]
    p = params_from_dict(s.start["params"]) if isinstance(s.start.get("params"), dict) else ctx.params
    o = objectives_from_dict(s.start["objectives"]) if isinstance(s.start.get("objectives"), dict) else ctx.objectives
    spec = s.start.get("strategy_spec") or policy["spec"]
    try:
        rep = replay(s, spec, p, o)
    except Exception as exc:  # a spec that no longer loads: say so, do not stop the cycle
        return {"note": f"replay failed: {type(exc).__name__}: {exc}"}
    st = ctx.control.status()
    mean = lambda xs: (sum(xs) / len(xs)) if xs else None  # noqa: E731
    return {
        "bars": rep.bars,
        "identical_decisions": rep.bars - len(rep.mismatches),
        "trades_live": rep.live_trades,
        "trades_backtest": rep.backtest_trades,
        "slippage_bps_mean": mean(rep.live_slippage_bps),
        "entry_vs_sim_bps_mean": mean(rep.entry_diff_bps),
        "equity": st.get("equity"),
        "halted": bool((st.get("risk") or {}).get("halted")),
        "paused": bool((st.get("risk") or {}).get("paused")),
    }


# --- 3. grade -----------------------------------------------------------------------------------------------------
def step_grade(ctx: Context, state: dict[str, Any]) -> dict[str, Any]:
    judged = state["steps"]["judge"]
    live = judged.get("live") or {}
    g = grade(judged["metrics"], ctx.objectives, judged["min_trades"], bool(live.get("halted")))
    ctx.log(f"grade: {g.level} ({'; '.join(g.reasons)})")
    return g.to_dict()


# --- 4. act -------------------------------------------------------------------------------------------------------
def step_act(ctx: Context, state: dict[str, Any]) -> dict[str, Any]:
    level = state["steps"]["grade"]["level"]
    if ctx.control is None:
        return {"actions": [], "note": "no live trader: nothing to pause or resize"}
    cycle = state["cycle"]
    st = ctx.control.status()
    if level == "CRITICAL":
        ctx.control.pause(reason=f"autopilot cycle {cycle}: CRITICAL", flatten=True)
        ctx.log("act: paused the trader (flatten, no new opens) until a better policy is swapped in")
        return {"actions": ["pause"], "paused": True}
    cur = float(st.get("size_multiplier") or 1.0)
    cfg = ctx.cfg
    new = size_after(level, cur, cfg.size_down, cfg.size_up, ctx.params.live.size_multiplier_max)
    if math.isclose(new, cur):
        return {"actions": ["keep"], "size_multiplier": {"old": cur, "new": cur}}
    ctx.control.set_size(new, reason=f"autopilot cycle {cycle}: {level}")
    ctx.log(f"act: size multiplier {cur:g} -> {new:g}")
    return {"actions": ["size_down" if new < cur else "size_up"], "size_multiplier": {"old": cur, "new": new}}


# --- 5. improve ---------------------------------------------------------------------------------------------------
def step_improve(ctx: Context, state: dict[str, Any]) -> dict[str, Any]:
    level = state["steps"]["grade"]["level"]
    if level not in ctx.cfg.improve_on:
        return {"skipped": f"grade {level} is not in autopilot.improve_on", "candidates": [], "trials": {}}
    from cluster import connect
    from cluster.storage import check_reachable

    ctx.log(connect())
    if ctx.params.cluster.check_storage:
        ctx.log(check_reachable(str(ctx.tune_dir)))  # every node must reach the sweeps' storage
    policy = state["steps"]["judge"]["policy"]
    base = _live_params(ctx, policy)
    cycle, slug = state["cycle"], coin_slug(ctx.coin)
    out: dict[str, Any] = {"candidates": [], "trials": {"execution": 0, "learning": 0}, "budget_spent": False}
    execution = _sweep(ctx, base, "execution", policy["spec"], ctx.cfg.execution_trials, f"ap-{slug}-c{cycle}-exec",
                       cycle)  # fmt: skip
    out["trials"]["execution"] = execution["trials"]
    out["candidates"].append(execution["candidate"])
    if ctx.cfg.learning == "off":
        return out
    if ctx.budget_left_s() <= 0:
        out["budget_spent"] = True
        ctx.log("improve: the cycle's budget is spent; no learning step this cycle")
        return out
    winner_params = params_from_dict(execution["params"])
    if ctx.cfg.learning == "sweep":
        learning = _sweep(ctx, winner_params, "learning", policy["spec"], ctx.cfg.learning_trials,
                          f"ap-{slug}-c{cycle}-learn", cycle)  # fmt: skip
        out["trials"]["learning"] = learning["trials"]
        out["candidates"].append(learning["candidate"])
    else:
        out["candidates"].append(_retrain(ctx, winner_params, cycle))
        out["trials"]["learning"] = 1
    return out


def _live_params(ctx: Context, policy: dict[str, Any]) -> Params:
    return params_from_dict(live_policy(ctx)["params"]) if policy else ctx.params


def _sweep(ctx: Context, base: Params, level: str, spec: str, trials: int, name: str, seed: int) -> dict[str, Any]:
    from cluster.placement import trial_resources
    from cluster.storage import exists, join
    from rl.tuning.pipeline import SweepOptions, run_sweep
    from rl.tuning.space import load_space

    space = load_space(None, base)
    resume = exists(join(ctx.tune_dir, name))
    resources, held = trial_resources(ctx.params)
    opts = SweepOptions(
        name=name, level=level, strategy=spec if level == "execution" else "rules", trials=trials,
        source=ctx.source(), days=ctx.cfg.data_days, storage=ctx.tune_dir, resume=resume,
        registry=ctx.registry_root, max_concurrent=ctx.cfg.max_concurrent_trials, seed=seed,
        retries=ctx.params.cluster.trial_retries, trial_resources=resources,
    )  # fmt: skip
    ctx.log(f"improve: {level} sweep {name}, {trials} trials of {spec}{' (resumed)' if resume else ''}; {held}")
    ctx.doing = ("sweep_failed", f"{level} sweep {name} ({trials} trials of {spec})")
    res = run_sweep(base, ctx.objectives, space, opts, log=lambda m: ctx.log(f"  {m}"))
    ctx.doing = None
    entry = res.entry
    return {
        "trials": trials,
        "params": params_from_dict(_params_of(entry, base)).model_dump(mode="json"),
        "candidate": _candidate(entry, level),
    }


def _params_of(entry: dict[str, Any], base: Params) -> dict[str, Any]:
    return entry_params(entry, base).model_dump(mode="json")


def _retrain(ctx: Context, params: Params, cycle: int) -> dict[str, Any]:
    from cluster.storage import is_uri, join, staged, storage_root
    from rl.registry import Registry
    from rl.train import train_one
    from rl.tuning.register import register_path

    root = storage_root(ctx.params)  # object storage: train here, then upload next to the sweeps
    out = join(root, "runs", "autopilot", coin_slug(ctx.coin), "train") if is_uri(root) else ctx.book.root / "train"
    ctx.log(f"improve: retrain {ctx.cfg.retrain_algo} for {ctx.cfg.retrain_timesteps} steps with the winning params")
    ctx.doing = ("training_failed", f"retrain of {ctx.cfg.retrain_algo} ({ctx.cfg.retrain_timesteps} steps)")
    with staged(out) as out_root:
        best = train_one(ctx.cfg.retrain_algo, params, ctx.cfg.retrain_timesteps, ctx.source(), ctx.cfg.data_days,
                         out_root, seed=params.rl.seed + cycle, log=lambda m: ctx.log(f"  {m}"),
                         max_seconds=max(30.0, ctx.budget_left_s()), objectives=ctx.objectives)  # fmt: skip
        where: str | Path = join(str(out), *best.relative_to(out_root).parts) if is_uri(out) else best
    entry = register_path(where, source=ctx.source(), days=ctx.cfg.data_days, registry=Registry(ctx.registry_root))
    ctx.doing = None
    return _candidate(entry, "retrain")


def _candidate(entry: dict[str, Any], level: str) -> dict[str, Any]:
    gate = entry.get("gate") or {}
    test = entry.get("test") or {}
    return {"id": entry["id"], "kind": entry["kind"], "level": level, "test_sharpe": test.get("sharpe"),
            "gate": {"passed": bool(gate.get("passed")), "failed": gate.get("failed", [])}}  # fmt: skip


# --- 6. promote ---------------------------------------------------------------------------------------------------
def step_promote(ctx: Context, state: dict[str, Any]) -> dict[str, Any]:
    improve = state["steps"]["improve"]
    cands = improve.get("candidates") or []
    judged = state["steps"]["judge"]
    if not cands:
        return {"promoted": None, "why": improve.get("skipped", "no candidate this cycle")}
    from rl.gate import gate_check
    from rl.registry import Registry
    from rl.tuning.walkforward import backtest_split

    reg = Registry(ctx.registry_root)
    real_venue = (judged["policy"].get("mode") or "paper") != "paper"
    refused, passing = [], []
    for c in cands:
        entry = reg.get(c["id"])
        verdict = gate_check(entry["test"], ctx.objectives, entry.get("min_trades") or 1, for_live=real_venue)
        if verdict.passed:
            passing.append((c, entry))
        else:
            refused.append({"id": c["id"], "why": f"gate{' (live)' if real_venue else ''}: {verdict.failed}"})
    if not passing:
        ctx.log(f"promote: every candidate refused: {refused}")
        return {"promoted": None, "refused": refused}
    policy = judged["policy"]
    live_params = _live_params(ctx, policy)
    bars, market, features, prov = _dataset(ctx, ctx.cfg.data_days)
    live_test = backtest_split(policy["spec"], live_params, ctx.objectives, bars, market, features, prov).metrics
    live_sharpe = float(live_test.get("sharpe", float("-inf")))
    c, entry = max(passing, key=lambda ce: float(ce[0]["test_sharpe"] or float("-inf")))
    margin = ctx.cfg.promote_margin_sharpe
    if not float(c["test_sharpe"]) >= live_sharpe + margin:
        why = f"test Sharpe {c['test_sharpe']:.3f} does not beat the live policy's {live_sharpe:.3f} by {margin:g}"
        refused.append({"id": c["id"], "why": why})
        ctx.log(f"promote: {c['id']} refused: {why}")
        return {"promoted": None, "refused": refused, "live_test_sharpe": live_sharpe}
    reason = f"autopilot cycle {state['cycle']}: test Sharpe {c['test_sharpe']:.3f} vs live {live_sharpe:.3f}"
    reg.promote(c["id"], reason, for_live=real_venue)
    ctx.log(f"promote: {c['id']} promoted ({reason})")
    swap = None
    if ctx.control is not None:
        from live.service import entry_spec

        spec = entry_spec(entry)
        params = entry_params(entry, ctx.params).model_dump(mode="json")
        ctx.control.swap(spec, c["id"], params=params, reason=reason)
        swap = {"old": policy["policy_id"], "new": c["id"], "spec": spec}
        if (state["steps"].get("act") or {}).get("paused"):
            ctx.control.resume(reason=f"autopilot cycle {state['cycle']}: {c['id']} swapped in")
            swap["resumed"] = True
        ctx.log(f"promote: hot swap requested: {swap}")
    test = {k: (entry.get("test") or {}).get(k) for k in TEST_KEYS}
    return {"promoted": c["id"], "refused": refused, "live_test_sharpe": live_sharpe, "swap": swap,
            "gate": c["gate"], "kind": c["kind"], "test": test, "margin": margin, "for_live": real_venue}  # fmt: skip


STEP_FUNCS: dict[str, Callable[[Context, dict[str, Any]], dict[str, Any]]] = {
    "data": step_data,
    "judge": step_judge,
    "grade": step_grade,
    "act": step_act,
    "improve": step_improve,
    "promote": step_promote,
}


def run_cycle(ctx: Context) -> dict[str, Any]:
    """Run (or resume) one cycle; returns the line written to the cycle journal."""
    state = ctx.book.load()
    resumed_from = None
    if state is not None:
        resumed_from = next((s for s in STEPS if s not in state["steps"]), None)
        ctx.log(f"cycle {state['cycle']}: resuming at step {resumed_from}")
    else:
        state = ctx.book.begin()
        ctx.log(f"cycle {state['cycle']}: starting")
    error = None
    for name in STEPS:
        if name in state["steps"]:
            continue
        state["current"] = name
        ctx.book.save(state)
        try:
            state["steps"][name] = STEP_FUNCS[name](ctx, state)
        except Exception as exc:
            error = f"{name}: {type(exc).__name__}: {exc}"
            ctx.log(f"cycle {state['cycle']}: step {error}")
            event, what = ctx.doing if name == "improve" and ctx.doing else ("cycle_failed", name)
            state["failed"] = {"step": name, "event": event, "what": what, "error": f"{type(exc).__name__}: {exc}"}
            ctx.doing = None
            break
        ctx.book.save(state)
    line = cycle_line(state, error, resumed_from)
    if not state.get("alerted"):  # once per cycle, also when a crash made it finish twice
        previous = ctx.book.cycles()
        prev_status = previous[-1].get("status") if previous else None
        for event, figures in cycle_alerts(state, prev_status, ctx.cfg.judge_days, ctx.cfg.cycle_hours,
                                           list(ctx.cfg.improve_on)):  # fmt: skip
            ctx.book.alert(event, figures)
        state["alerted"] = True
        ctx.book.save(state)
    ctx.book.record(line)
    state["finished"] = True
    ctx.book.save(state)
    return line


def cycle_line(state: dict[str, Any], error: str | None, resumed_from: str | None) -> dict[str, Any]:
    """The cycle journal's line (docs/LIVE.md): a flat summary of the steps."""
    steps = state["steps"]
    g = steps.get("grade") or {}
    act = steps.get("act") or {}
    imp = steps.get("improve") or {}
    prom = steps.get("promote") or {}
    cands = imp.get("candidates") or []
    winner = None
    if prom.get("promoted"):
        c = next((c for c in cands if c["id"] == prom["promoted"]), None)
        winner = {"id": prom["promoted"], "kind": c["kind"] if c else None, "score": c["test_sharpe"] if c else None}
    elif cands:
        best = max(cands, key=lambda c: float(c["test_sharpe"]) if c.get("test_sharpe") is not None else -1e18)
        winner = {"id": best["id"], "kind": best["kind"], "score": best["test_sharpe"]}
    gate = None
    if winner is not None:
        c = next((c for c in cands if c["id"] == winner["id"]), None)
        gate = c["gate"] if c else None
    return {
        "cycle": state["cycle"],
        "start_ms": state["start_ms"],
        "end_ms": int(time.time() * 1000),
        "status": g.get("level"),
        "reasons": g.get("reasons", []),
        "metrics": (steps.get("judge") or {}).get("metrics"),
        "live": (steps.get("judge") or {}).get("live"),
        "policy": ((steps.get("judge") or {}).get("policy") or {}).get("policy_id"),
        "actions": act.get("actions", []),
        "size_multiplier": act.get("size_multiplier"),
        "trials": imp.get("trials") or {},
        "winner": winner,
        "gate": gate,
        "promoted": prom.get("promoted"),
        "refused": prom.get("refused", []),
        "swap": prom.get("swap"),
        "data": steps.get("data"),
        "resumed_from": resumed_from,
        "error": error,
    }


def default_dir(params: Params) -> Path:
    """`<autopilot.dir>/<coin>`: a relative autopilot.dir lies under the storage root when that is a path (shared
    by the cluster's nodes), else under the repository (its lock and appends need a filesystem)."""
    from cluster.storage import is_uri, storage_root

    base = Path(params.autopilot.dir)
    root = storage_root(params)
    if not base.is_absolute():
        base = (REPO_ROOT if is_uri(root) else Path(root)) / base
    return base / coin_slug(params.market.coin)
