"""Does learning hold up? Many seeds, three planted edges and a random walk, every policy measured against the oracle.

    python -m bench.bench_learning                      # short budget (`make bench`): 5 seeds x 60,000 steps
    python -m bench.bench_learning --budget long        # 10 seeds x 200,000 env steps (docs/RL.md)
        [--seeds N] [--steps N] [--days D] [--algos ppo dqn] [--edges weak medium strong walk]
        [--execution market maker] [--workers 2] [--set k=v ...] [--out DIR] [--json PATH]

For every data kind, seed and algorithm: train with `rl.train.train_one` (the path of `python -m rl.train`: the
default `configs/params.yaml` plus the bench's data settings below, nothing hidden), keep the best validation
checkpoint, and backtest it on the TEST split (last 20 %, never trained or selected on) through the backtester's
runner, after fees, slippage and latency. The PPO + DQN ensemble of the same seed is scored the same way. On the
edges, the oracle (`backtest.strategies.oracle`: the planted signal traded perfectly, same costs, execution and
simulator) sets the ceiling, and capture = policy test PnL / oracle test PnL.

Seed s trains with `--seed s` on the synthetic market of `synth.seed = 7 + s` (a new market and a new initialisation
per seed). Budgets are env steps, never wall clock, so every per-seed figure is the same at any load and run
after run on one CPU family (torch's kernels round differently on another; docs/RL.md).

Data (BENCH_EDGES; all with COMMON's trading settings: `trading.max_hold_seconds=0`, since with the default 60 s max
hold every position is shut after one bar and no 1-minute edge pays a round trip of fees and slippage (0.28 % with
the venue's 0.09 % taker fee and 0.05 % slippage): the oracle itself loses there; and take-profit / stop-loss
1.0 % / 0.5 % instead of the default 0.5 % / 0.25 %, where that round trip would be 56 % of the take-profit: the
oracle keeps 1.5x more of the strong edge (docs/RL.md), and the agents see a cost they can outearn):
- weak: the default planted edge (`synth.edge.strength` 0.3, `synth.trend_drift_bps` 0.6);
- medium: strength 0.5, drift 1.2 bps; strong: strength 0.5, drift 2 bps;
- random walk: `synth.edge.enabled=false` (nothing to learn: the right policy holds; the gate must promote none).

Figures per (execution, data, algorithm): seeds that learned (capture > 25 %), median and IQM capture with a 95 %
bootstrap CI over seeds (rliable-style, `rl.learning_stats`), median test return, HOLD rate and trades, and how
many seeds the promotion gate (`rl.gate`, configs/objectives.yaml on the test span) would promote. Fees are the
venue's schedule for the market (`backtest/venue/fees.py`; xyz:XYZ100 offline: HIP-3 standard, taker 0.09 % / maker
0.03 %) unless `--set backtest.commission_pct=...` overrides them; slippage, latency and execution come from the
params (`--execution market maker`); the bench prints which it used.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

COMMON = ["trading.max_hold_seconds=0", "trading.take_profit_pct=1.0", "trading.stop_loss_pct=0.5"]
BENCH_EDGES: dict[str, list[str]] = {
    "weak": ["synth.edge.enabled=true", "synth.edge.strength=0.3", "synth.trend_drift_bps=0.6"],
    "medium": ["synth.edge.enabled=true", "synth.edge.strength=0.5", "synth.trend_drift_bps=1.2"],
    "strong": ["synth.edge.enabled=true", "synth.edge.strength=0.5", "synth.trend_drift_bps=2.0"],
    "walk": ["synth.edge.enabled=false"],
}
EDGE_LABEL = {"weak": "weak edge", "medium": "medium edge", "strong": "strong edge", "walk": "random walk"}
EXECUTIONS: dict[str, list[str]] = {"market": [], "maker": ["execution.entry=maker"]}
DATA_SEED0 = 7  # synth.seed of seed 0 (configs/params.yaml's)


@dataclass(frozen=True)
class Budget:
    seeds: int
    steps: int  # env steps per training run (at most; validation early stopping may end it sooner)
    days: float  # days of synthetic bars (train 60 % / validation 20 % / test 20 %)
    maker_kinds: tuple[str, ...] = tuple(BENCH_EDGES)  # data kinds also run with maker execution


BUDGETS = {
    # short: what `make bench` runs; maker execution on the strong edge (where learning shows) and the random walk
    # (where the gate must hold) only, to stay within its time
    "short": Budget(seeds=5, steps=60_000, days=20.0, maker_kinds=("strong", "walk")),
    "long": Budget(seeds=10, steps=200_000, days=30.0),
}


def available_executions() -> dict[str, str]:
    """Execution styles this code base can simulate: market (taker) always; maker once `execution.entry=maker`
    validates (the maker-execution work); else the reason it is missing."""
    from backtest.config import ConfigError, load_params

    out = {"market": ""}
    try:
        load_params(overrides=EXECUTIONS["maker"])
        out["maker"] = ""
    except (ConfigError, ValueError) as exc:
        out["maker"] = f"maker execution is not available here ({str(exc).splitlines()[0][:120]})"
    return out


def bench_params(kind: str, seed: int, execution: str, extra: list[str]) -> Any:
    from backtest.config import load_params

    sets = [*COMMON, *BENCH_EDGES[kind], f"synth.seed={DATA_SEED0 + seed}", *EXECUTIONS[execution], *extra]
    return load_params(overrides=sets)


def costs_text(params: Any) -> str:
    """The costs a run charges: the fee schedule the simulator resolves (the venue's for the market, or the
    params' override; `backtest.venue.fees.resolve_fees`), slippage and latency from the params (never hard-coded)."""
    from backtest.venue.fees import resolve_fees

    bt = params.backtest
    parts = [f"fees {resolve_fees(params).label()}", f"slippage {bt.slippage_pct:g} %",
             f"latency {bt.latency_ms[0]:g}-{bt.latency_ms[1]:g} ms"]  # fmt: skip
    return ", ".join(parts)


def _short(m: dict[str, Any]) -> dict[str, Any]:
    keys = ("total_return_pct", "sharpe", "n_trades", "hold_rate_pct", "win_rate_pct", "max_drawdown_pct", "days")
    return {k: m[k] for k in keys}


def gate_passes(m: dict[str, Any], params: Any) -> bool:
    from backtest.config import load_objectives
    from rl.gate import gate_check, scaled_min_trades

    needed = scaled_min_trades(params.backtest.min_trades_threshold, m["days"], params.backtest.days)
    return gate_check(m, load_objectives(), needed).passed


def train_and_test(
    kind: str, algo: str, seed: int, execution: str, budget: Budget, extra: list[str], out: str
) -> dict[str, Any]:
    """One training run and its test backtest (runs in a Ray worker)."""
    from rl import checkpoint as ck
    from rl.data import prepare
    from rl.evaluate import evaluate
    from rl.policy import RLPolicyStrategy
    from rl.train import SUMMARY_FILE, train_one

    params = bench_params(kind, seed, execution, extra)
    t0 = time.perf_counter()
    lines: list[str] = []
    root = Path(out) / execution / kind / f"seed{seed}"
    best = train_one(algo, params, budget.steps, "synthetic", budget.days, root, seed=seed, log=lines.append)
    summary = json.loads((best.parent / SUMMARY_FILE).read_text())
    prepared = prepare(params, "synthetic", budget.days)
    m = evaluate(RLPolicyStrategy.from_checkpoint(best, params), prepared, params, "test")
    meta = ck.read_metadata(best)
    return {
        "execution": execution, "kind": kind, "algo": algo, "seed": seed, "checkpoint": str(best),
        "test": _short(m), "gate": gate_passes(m, params), "best_iteration": meta["iteration"],
        "best_steps": meta["timesteps"], "env_steps": summary["env_steps"], "iterations": summary["iterations"],
        "collapses": summary["collapses"], "seconds": time.perf_counter() - t0,
        "train_seconds": summary["train_seconds"], "log_tail": lines[-3:],
    }  # fmt: skip


def references(kind: str, seed: int, execution: str, budget: Budget, extra: list[str], ckpts: dict[str, str]):
    """The oracle (edges), the rules and the PPO + DQN ensemble of this seed on the test span."""
    from backtest.strategies.oracle import OracleStrategy
    from rl.data import prepare
    from rl.evaluate import evaluate

    params = bench_params(kind, seed, execution, extra)
    prepared = prepare(params, "synthetic", budget.days)
    out: dict[str, Any] = {"execution": execution, "kind": kind, "seed": seed}
    if kind != "walk":
        out["oracle"] = _short(evaluate(OracleStrategy.for_params(params, "synthetic", budget.days), prepared, params,
                                        "test"))  # fmt: skip
    out["rules"] = _short(evaluate("rules", prepared, params, "test"))
    if "ppo" in ckpts and "dqn" in ckpts:
        m = ensemble_metrics([Path(ckpts["ppo"]), Path(ckpts["dqn"])], prepared, params)
        out["ensemble"] = {**_short(m), "gate": gate_passes(m, params)}
    return out


def ensemble_metrics(checkpoints: list[Path], prepared: Any, params: Any, split: str = "test") -> dict:
    """The PPO + DQN ensemble (vote, rules fallback, ties -> HOLD) on `split`, through the backtester's runner."""
    from backtest.metrics import compute_metrics
    from backtest.strategies.rules import RulesStrategy
    from rl.ensemble import EnsembleStrategy
    from rl.evaluate import span_result
    from rl.policy import RLPolicyStrategy

    members = [RLPolicyStrategy.from_checkpoint(c, params) for c in checkpoints]
    rules = RulesStrategy(params.trading)
    ens = EnsembleStrategy(members, params.trading.signal_threshold, rules, feature_names=members[0].feature_names)
    return compute_metrics(span_result(ens, prepared, params, prepared.splits.span(split)))


# --- the table ----------------------------------------------------------------------------------------------------
def _median(values: list[float]) -> float:
    values = [v for v in values if v == v]
    return float(statistics.median(values)) if values else math.nan


def summarise(runs: list[dict[str, Any]], refs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (execution, data, strategy): capture statistics over seeds and the medians."""
    from rl.learning_stats import capture_ratio, summarise_capture

    oracle = {(r["execution"], r["kind"], r["seed"]): r.get("oracle") for r in refs}
    cells: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in runs:
        cells.setdefault((r["execution"], r["kind"], r["algo"]), []).append({**r["test"], "gate": r["gate"],
                                                                           "seed": r["seed"],
                                                                           "collapses": r["collapses"]})  # fmt: skip
    for r in refs:
        for name in ("ensemble", "rules", "oracle"):
            if name in r:
                cells.setdefault((r["execution"], r["kind"], name), []).append({**r[name], "seed": r["seed"]})
    rows = []
    for (execution, kind, name), items in cells.items():
        caps = []
        for it in items:
            o = oracle.get((execution, kind, it["seed"]))
            caps.append(capture_ratio(it["total_return_pct"], o["total_return_pct"]) if o else math.nan)
        s = summarise_capture(caps)
        rows.append({
            "execution": execution, "kind": kind, "strategy": name, "seeds": len(items),
            "learned": s.learned if s.n else None, "capture_median": s.median, "capture_iqm": s.iqm,
            "capture_ci": list(s.ci), "return_median": _median([it["total_return_pct"] for it in items]),
            "hold_median": _median([it["hold_rate_pct"] for it in items]),
            "trades_median": _median([it["n_trades"] for it in items]),
            "gate_promoted": sum(bool(it.get("gate")) for it in items) if name not in ("oracle", "rules") else None,
            "collapsed": sum(bool(it.get("collapses")) for it in items) if name in ("ppo", "dqn") else None,
        })  # fmt: skip
    order = {k: i for i, k in enumerate(BENCH_EDGES)}
    strat = {k: i for i, k in enumerate(("oracle", "ppo", "dqn", "ensemble", "rules"))}
    rows.sort(key=lambda r: (r["execution"], order.get(r["kind"], 9), strat.get(r["strategy"], 9)))
    return rows


def _pct(x: float | None) -> str:
    return "" if x is None or x != x else f"{round(100 * x) + 0:.0f} %"


def _num(x: float, digits: int) -> str:
    """`x` rounded, without a "-0.00"."""
    return f"{round(x, digits) + 0.0:.{digits}f}"


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| execution | data | strategy | seeds learned (capture > 25 %) | capture median | capture IQM [95 % CI] | "
        "test return % (median) | HOLD % | trades | gate would promote |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ref = r["strategy"] in ("oracle", "rules")
        learned = "" if ref or r["learned"] is None else f"{r['learned']} / {r['seeds']}"
        ci = r["capture_ci"]
        iqm = "" if ref or r["capture_iqm"] != r["capture_iqm"] else (
            f"{_pct(r['capture_iqm'])} [{_pct(ci[0])}, {_pct(ci[1])}]")  # fmt: skip
        gate = "" if r["gate_promoted"] is None else f"{r['gate_promoted']} / {r['seeds']}"
        lines.append(
            f"| {r['execution']} | {EDGE_LABEL.get(r['kind'], r['kind'])} | {r['strategy']} | {learned} | "
            f"{'' if ref else _pct(r['capture_median'])} | {iqm} | {_num(r['return_median'], 2)} | "
            f"{r['hold_median']:.1f} | {r['trades_median']:.0f} | {gate} |"
        )
    return "\n".join(lines)


def per_seed_table(runs: list[dict[str, Any]], refs: list[dict[str, Any]]) -> str:
    oracle = {(r["execution"], r["kind"], r["seed"]): r.get("oracle") for r in refs}
    lines = ["| execution | data | seed | algo | test return % | oracle % | capture | trades | HOLD % | best at steps "
             "| collapse warnings |", "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in sorted(runs, key=lambda r: (r["execution"], list(BENCH_EDGES).index(r["kind"]), r["seed"], r["algo"])):
        o = oracle.get((r["execution"], r["kind"], r["seed"]))
        cap = "" if not o else _pct(r["test"]["total_return_pct"] / o["total_return_pct"]
                                    if o["total_return_pct"] > 0 else math.nan)  # fmt: skip
        oracle_ret = "" if not o else f"{o['total_return_pct']:.2f}"
        lines.append(
            f"| {r['execution']} | {EDGE_LABEL[r['kind']]} | {r['seed']} | {r['algo']} | "
            f"{_num(r['test']['total_return_pct'], 2)} | {oracle_ret} | {cap} | "
            f"{r['test']['n_trades']} | {r['test']['hold_rate_pct']:.1f} | {r['best_steps']} | "
            f"{', '.join(r['collapses'])} |"
        )
    return "\n".join(lines)


# --- the run ------------------------------------------------------------------------------------------------------
def run(
    budget: Budget, algos: list[str], kinds: list[str], executions: list[str], workers: int, extra: list[str], out: str
) -> dict[str, Any]:
    import ray
    from tqdm import tqdm

    from rl.train import ensure_ray

    ensure_ray()
    train_task = ray.remote(num_cpus=1)(train_and_test)
    ref_task = ray.remote(num_cpus=1)(references)
    jobs = [
        (e, k, a, s)
        for e in executions
        for k in kinds
        if e == "market" or k in budget.maker_kinds
        for s in range(budget.seeds)
        for a in algos
    ]
    t0 = time.perf_counter()
    pending = {}
    queue = list(jobs)
    runs: list[dict[str, Any]] = []
    failed: list[str] = []
    with tqdm(total=len(jobs), desc="training runs", unit="run", disable=None) as bar:
        while queue or pending:
            while queue and len(pending) < workers:
                e, k, a, s = queue.pop(0)
                pending[train_task.remote(k, a, s, e, budget, extra, out)] = (e, k, a, s)
            done, _ = ray.wait(list(pending), num_returns=1)
            e, k, a, s = pending.pop(done[0])
            try:
                runs.append(ray.get(done[0]))
            except Exception as exc:  # one failed run must not throw the others' minutes away: said, and left out
                failed.append(f"{e} {k} {a} seed {s}: {str(exc).strip().splitlines()[-1][:300]}")
                print(f"FAILED: {failed[-1]}", file=sys.stderr, flush=True)
            bar.update(1)
    ckpts: dict[tuple[str, str, int], dict[str, str]] = {}
    for r in runs:
        ckpts.setdefault((r["execution"], r["kind"], r["seed"]), {})[r["algo"]] = r["checkpoint"]
    refs = ray.get([ref_task.remote(k, s, e, budget, extra, c) for (e, k, s), c in ckpts.items()])
    return {"runs": runs, "references": refs, "failed": failed, "seconds": time.perf_counter() - t0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_learning", description=__doc__.split("\n\n")[0])
    ap.add_argument("--budget", choices=list(BUDGETS), default="short")
    ap.add_argument("--seeds", type=int, help="seeds per cell (default: the budget's)")
    ap.add_argument("--steps", type=int, help="env steps per training run (default: the budget's)")
    ap.add_argument("--days", type=float, help="days of synthetic bars (default: the budget's)")
    ap.add_argument("--algos", nargs="+", default=["ppo", "dqn"], choices=["ppo", "dqn"])
    ap.add_argument("--edges", nargs="+", default=list(BENCH_EDGES), choices=list(BENCH_EDGES))
    ap.add_argument("--execution", nargs="+", choices=list(EXECUTIONS), help="default: every style available")
    ap.add_argument("--workers", type=int, default=2, help="training runs at a time (one CPU each)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="extra params overrides")
    ap.add_argument("--out", default="runs/bench_learning", help="checkpoints go here")
    ap.add_argument("--json", type=Path, help="write every run's figures here")
    args = ap.parse_args(argv)
    base = BUDGETS[args.budget]
    budget = Budget(args.seeds or base.seeds, args.steps or base.steps, args.days or base.days, base.maker_kinds)
    available = available_executions()
    wanted = args.execution or [e for e, why in available.items() if not why]
    missing = [f"{e}: {available[e]}" for e in wanted if available.get(e)]
    if missing:
        print("cannot run: " + "; ".join(missing), file=sys.stderr)
        return 2
    notes = [why for e, why in available.items() if why and e not in wanted]
    load0 = os.getloadavg()[0]
    data = run(budget, args.algos, args.edges, wanted, args.workers, args.set, args.out)
    rows = summarise(data["runs"], data["references"])
    params = bench_params(args.edges[0], 0, wanted[0], args.set)
    maker = [EDGE_LABEL[k] for k in args.edges if k in budget.maker_kinds] if "maker" in wanted else []
    styles = "market (taker) execution" + (f"; maker entries (execution.entry=maker) on {', '.join(maker)}" if maker
                                           else "")  # fmt: skip
    header = (
        f"{budget.seeds} seeds x {budget.steps:,} env steps per run, {budget.days:g} days of synthetic 1-minute bars "
        f"(test = last 20 %), {args.workers} runs at a time; {styles}; costs: {costs_text(params)}; "
        f"{len(data['runs'])} runs in {data['seconds'] / 60:.1f} min, load average {load0:.1f} -> "
        f"{os.getloadavg()[0]:.1f}"
    )
    print(f"\n{header}")
    for line in data["failed"]:
        print(f"FAILED run (left out of the table): {line}")
    for note in notes:
        print(f"note: {note}: market (taker) execution only")
    print(f"\n{table(rows)}\n\n{per_seed_table(data['runs'], data['references'])}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"header": header, "notes": notes, "rows": rows, **data, "budget": {
            "name": args.budget, "seeds": budget.seeds, "steps": budget.steps, "days": budget.days}},
            indent=1, default=str))  # fmt: skip
    return 1 if data["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
