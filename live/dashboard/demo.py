"""A demo workspace for a first look, the screenshots and the browser tests: `python -m live.dashboard --demo`.

What is real: the trader journal, status.json and state.json come from the real `Trader` trading the rules strategy
against the in-process paper exchange (manual clock, synthetic bars, the simulator's costs), bar by bar, with an
emergency stop created and removed on the way; the backtest report is a real rules backtest written by
`backtest.report.write_report`; registry entries are written through `rl.registry.Registry` with real gate verdicts.
What is made up (the autopilot and a sweep take minutes to hours): the autopilot cycles and the sweep summary are
generated in their documented formats (docs/LIVE.md, rl/tuning/pipeline.py) from seeded random draws. A `DEMO` file
marks the folder; the pages say so.

`synthetic_journal` writes a large format-true journal fast (no trader, no exchange) for the benchmark.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backtest.config import Objectives, Params, load_objectives, load_params

MARKER = "DEMO"
# the simulator's costs that the paper exchange reproduces (as live/rehearsal.py; fees are the venue's on both
# sides), and busy rules so it trades
DEMO_TRADER_OVERRIDES = [
    "backtest.slippage_pct=0.05",
    "backtest.latency_ms=[0, 0]",
    "backtest.funding_rate_hourly=0.0",
    "backtest.chunk_size=100000",
    "trading.rsi_buy_below=45",
    "trading.rsi_sell_above=55",
    "trading.macd_confirm=false",
    "trading.max_hold_seconds=300",
    "live.daily_loss_limit_pct=0",
]


@dataclass
class DemoWorkspace:
    root: Path
    trader_root: Path
    overrides: list[str]  # what points the dashboard (and a replay) at this workspace

    def params(self, extra: list[str] | None = None) -> Params:
        return load_params(overrides=[*self.overrides, *(extra or [])])


def workspace_overrides(root: Path, history: int) -> list[str]:
    root = root.resolve()
    return [
        *DEMO_TRADER_OVERRIDES,
        f"backtest.warmup_bars={history}",
        f"live.history_bars={history}",
        f"live.journal_dir={root / 'live'}",
        f"live.emergency_stop_file={root / 'EMERGENCY_STOP'}",
        f"backtest.reports_dir={root / 'reports'}",
        f"dashboard.tune_dir={root / 'tune'}",
        f"dashboard.registry_dir={root / 'registry'}",
        f"dashboard.autopilot_dir={root / 'autopilot'}",
    ]


def load_workspace(root: Path) -> DemoWorkspace | None:
    """An existing demo workspace (None when `root` holds none)."""
    marker = Path(root) / MARKER
    if not marker.is_file():
        return None
    doc = json.loads(marker.read_text())
    if "overrides" not in doc:
        return None  # a build that did not finish
    return DemoWorkspace(Path(root).resolve(), Path(doc["trader_root"]), list(doc["overrides"]))


def build_demo(root: Path, live_bars: int = 150, history: int = 300, seed: int = 11, log=print) -> DemoWorkspace:
    """Write the whole demo workspace into `root` (replacing a previous demo there)."""
    import shutil

    root = Path(root).resolve()
    if root.exists():
        if not (root / MARKER).is_file() and any(root.iterdir()):
            raise SystemExit(f"{root} exists and is not a demo workspace; pick another folder")
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / MARKER).write_text(json.dumps({"building": True}))  # a half-built demo can be rebuilt in place
    overrides = workspace_overrides(root, history)
    params, objectives = load_params(overrides=overrides), load_objectives()
    t0 = time.perf_counter()
    trader_root, policy = run_paper_trader(root, params, objectives, live_bars, history, seed)
    log(f"demo: trader journal, {live_bars} bars on the paper exchange ({time.perf_counter() - t0:.1f} s)")
    metrics, returns = write_demo_report(root / "reports", params, objectives, seed)
    entries = write_demo_registry(root / "registry", params, objectives, metrics, policy)
    write_demo_sweep(root / "tune", metrics, returns, entries, seed)
    end_ms = max(int(r.get("ts", 0)) for r in _read_lines(next(trader_root.glob("journal-*.jsonl"))))
    cycles = root / "autopilot" / params.market.coin.replace(":", "_") / "cycles.jsonl"
    write_demo_cycles(cycles, end_ms, entries, policy, seed)
    (root / MARKER).write_text(json.dumps({"trader_root": str(trader_root), "overrides": overrides}, indent=1))
    log(f"demo: workspace ready in {root} ({time.perf_counter() - t0:.1f} s)")
    return DemoWorkspace(root, trader_root, overrides)


def _read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_paper_trader(
    root: Path, params: Params, objectives: Objectives, live_bars: int, history: int, seed: int
) -> tuple[Path, str]:
    """The real Trader on the in-process paper exchange (manual clock), stepped bar by bar; journal time follows
    the replayed market time, as it would live."""
    from backtest.data.synth import generate_bars
    from backtest.strategies.rules import RulesStrategy
    from backtest.venue.ratelimit import WeightBudget
    from live.journal import Journal
    from live.keys import Redactor, paper_wallet
    from live.paper_exchange.server import start_in_thread
    from live.rehearsal import matched_paper_config
    from live.trader import Trader, TraderIdentity
    from live.venue import connect_venue

    # the replay ends about now, so journal times (the replayed market time) read like a trader that just ran
    start = pd.Timestamp.now(tz="UTC").floor("min") - pd.Timedelta(minutes=history + live_bars + 1)
    bars = generate_bars(history + live_bars + 20, params.synth, start=start, interval_s=60, seed=seed)
    coin, dex = params.market.coin, params.market.dex
    signer = paper_wallet(coin, seed)
    cfg = matched_paper_config(params, history, fund=((signer.account.lower(), params.live.paper_fund_usd),))
    server = start_in_thread(cfg, bars=bars)
    px = server.exchange
    t_real = [time.time()]

    def clock() -> float:  # market time of the replay plus the real time spent since the last step
        return px.feed.now_ms / 1000.0 + min(5.0, time.time() - t_real[0])

    folder = Path(params.live.journal_dir) / coin.replace(":", "_") / signer.account.lower()
    policy = "rules-demo"
    try:
        venue = connect_venue(server.url, coin, dex, signer, params.live.order_timeout_s, params.backtest.interval,
                              params.live.stale_feed_seconds, source="paper")  # fmt: skip
        venue.feed.budget = WeightBudget(capacity=1e9)  # bars pass faster than real time: no REST budget here
        journal = Journal(folder, clock=clock, redactor=Redactor.for_signer(signer))
        strategy = RulesStrategy(params.trading)
        ident = TraderIdentity("paper", coin, signer.account, policy, strategy.name, server.url, strategy_spec="rules")
        trader = Trader(ident, params, objectives, strategy, venue, journal, clock=clock)
        trader.start()
        stop_file = Path(params.live.emergency_stop_file)
        for i in range(live_bars):
            if i == int(live_bars * 0.6):
                stop_file.write_text("demo\n")  # an emergency stop for one bar: flatten, then resume
            if i == int(live_bars * 0.6) + 2:
                stop_file.unlink(missing_ok=True)
            server.step(3 - px.feed.point)  # to the close of the current bar
            server.step(1)  # the next bar opens: its candle closes the previous one
            t_real[0] = time.time()
            for _ in range(100):
                if trader.step(0.05):
                    break
        trader.shutdown(flatten=False)  # a clean stop that keeps the position and its triggers on the venue
    finally:
        server.stop()
    return folder, policy


def write_demo_report(reports: Path, params: Params, objectives: Objectives, seed: int) -> tuple[dict, np.ndarray]:
    """A real 3-day rules backtest on synthetic bars, written as a report folder."""
    from backtest.data.synth import generate_bars
    from backtest.features import compute_features
    from backtest.metrics import bar_returns, compute_metrics
    from backtest.objectives import check_objectives
    from backtest.report import write_report
    from backtest.runner import run_backtest
    from backtest.sim import Market

    bars = generate_bars(3 * 1440, params.synth, start=pd.Timestamp("2026-02-26", tz="UTC"), interval_s=60, seed=seed)
    p = load_params(overrides=[*DEMO_TRADER_OVERRIDES, "backtest.warmup_bars=300"])
    market = Market.from_bars(bars, p)
    prov = {"source": "synthetic", "share_real": 0.0, "seed": seed}
    features = compute_features(bars, p.trading, p.market.coin)
    result = run_backtest("rules", p, objectives, market, features, prov, workers=0)
    metrics = compute_metrics(result)
    check = check_objectives(metrics, objectives, p.backtest.min_trades_threshold)
    write_report(result, metrics, check, reports / "20260301-000000_rules_synthetic", "Backtest: rules (demo)",
                 p.model_dump(mode="json"))  # fmt: skip
    return metrics, bar_returns(result)


def write_demo_registry(
    root: Path, params: Params, objectives: Objectives, metrics: dict[str, Any], policy: str
) -> list[dict[str, Any]]:
    """Three entries through the real registry and gate: one promoted (passes), one candidate, one refused."""
    from rl.gate import gate_check
    from rl.registry import Registry

    reg = Registry(root)
    good = {**metrics, "sharpe": 2.1, "monthly_return_pct": 16.5, "max_drawdown_pct": 3.2, "profit_factor": 1.6,
            "n_trades": 140, "real_days": 0.0}  # fmt: skip
    made = []
    for kind, m, reason in (
        ("rules-params", good, "demo: tuned rules"),
        ("ppo", {**good, "sharpe": 1.7, "n_trades": 90}, "demo: PPO candidate"),
        ("ensemble", metrics, "demo: the rules backtest's figures"),
    ):
        verdict = gate_check(m, objectives, 50)
        made.append(reg.add(kind, root / f"{kind}.ckpt", params.market.coin, metadata={"demo": True, "seed": 1}, test=m,
                            min_trades=50, gate=verdict.to_dict(), reason=reason))  # fmt: skip
    reg.promote(made[0]["id"], "demo: gate passed")
    return reg.entries()


def write_demo_sweep(tune: Path, metrics: dict, returns: np.ndarray, entries: list[dict], seed: int) -> None:
    """A sweep folder in rl.tune's format: summary.json (with the real DSR of made-up trial Sharpes) and report.html."""
    from backtest.config import load_objectives as _lo
    from cluster.atomic import atomic_write_json
    from rl.gate import gate_check
    from rl.tuning.report import write_sweep_report
    from rl.tuning.stats import deflated_sharpe

    rng = np.random.default_rng(seed)
    out = tune / "demo-execution"
    out.mkdir(parents=True, exist_ok=True)
    n = 24
    sr = rng.normal(0.0, 0.01, n)
    trials = pd.DataFrame({"trial_id": [f"t{i:03d}" for i in range(n)], "score": sr * 40, "sr_bar": sr,
                           "iterations": 4, "mean_sharpe": sr * 700, "n_trades": rng.integers(40, 160, n),
                           "config/trading.take_profit_pct": rng.uniform(0.1, 1.0, n),
                           "config/trading.stop_loss_pct": rng.uniform(0.1, 0.6, n)})  # fmt: skip
    dsr = deflated_sharpe(returns, trials["sr_bar"].tolist()).to_dict()
    best = trials.sort_values("score").iloc[-1]
    level = {"level": "execution", "trials": trials, "keys": ["trading.take_profit_pct", "trading.stop_loss_pct"],
             "dsr": dsr, "best_config": {"trading.take_profit_pct": float(best["config/trading.take_profit_pct"]),
                                         "trading.stop_loss_pct": float(best["config/trading.stop_loss_pct"])},
             "best_score": float(best["score"]), "path": str(out / "execution")}  # fmt: skip
    verdict = gate_check(metrics, _lo(), 50)
    summary = {
        "name": out.name,
        "description": "DEMO: made-up trials in rl.tune's format (level execution, strategy rules)",
        "gate": verdict.to_dict(),
        "live_gate": gate_check(metrics, _lo(), 50, for_live=True).to_dict(),
        "test": metrics,
        "test_report": "",
        "registry_id": entries[-1]["id"],
        "best_params": str(out / "best_params.yaml"),
        "levels": [{k: v for k, v in level.items() if k != "trials"}],
    }
    write_sweep_report(out, summary, [level])
    atomic_write_json(out / "summary.json", {**summary, "seconds": 41.0})


def write_demo_cycles(path: Path, end_ms: int, entries: list[dict], policy: str, seed: int, n: int = 48) -> None:
    """`n` half-hourly autopilot cycles ending at `end_ms`, in the documented cycles.jsonl format."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = [e["id"] for e in entries]
    lines = []
    size = 1.0
    for i in range(n):
        end = end_ms - (n - 1 - i) * 1_800_000
        start = end - rng.randint(4, 20) * 60_000
        status = rng.choices(["GOOD", "MODERATE", "POOR", "CRITICAL"], [5, 3, 2, 1])[0]
        new = {"GOOD": min(2.0, size + 0.25), "MODERATE": size, "POOR": max(0.25, size - 0.25), "CRITICAL": 0.25}
        actions = {"GOOD": ["raise_size"], "MODERATE": ["hold"], "POOR": ["cut_size", "sweep"],
                   "CRITICAL": ["cut_size", "sweep", "retrain"]}[status]  # fmt: skip
        trials = {"execution": 8 if "sweep" in actions else 0, "learning": 4 if "retrain" in actions else 0}
        winner = gate = promoted = swap = None
        judged = policy
        if trials["execution"]:
            winner = {"id": rng.choice(ids), "kind": "rules-params", "score": round(rng.uniform(-1, 2), 3)}
            passed = winner["score"] > 0.8
            gate = {"passed": passed, "failed": [] if passed else ["sharpe", "profit_factor"]}
            if passed and winner["id"] != policy:
                promoted = winner["id"]
                swap = {"old": policy, "new": winner["id"]}
                policy = winner["id"]
                actions = [*actions, "promote", "swap"]
        lines.append({
            "cycle": i + 1, "start_ms": start, "end_ms": end, "status": status, "policy": judged,
            "reasons": [f"demo: judged {status.lower()}"], "metrics": {"sharpe": round(rng.uniform(-2, 3), 2)},
            "live": None, "actions": actions, "size_multiplier": {"old": size, "new": new[status]},
            "trials": trials, "winner": winner, "gate": gate, "promoted": promoted, "swap": swap,
            "error": "demo: a sweep worker died" if i == n // 3 else None,
        })  # fmt: skip
        size = new[status]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    write_demo_cycle_alerts(path.parent, lines)


def write_demo_cycle_alerts(root: Path, lines: list[dict[str, Any]]) -> None:
    """The alert records the autopilot writes for these cycles (`live.autopilot.alerts`), at each cycle's end."""
    from live.autopilot.alerts import cycle_alerts
    from live.journal import Journal

    now = [0.0]
    journal = Journal(root, clock=lambda: now[0])
    previous = None
    for c in lines:
        now[0] = c["end_ms"] / 1000
        refused = [] if c["gate"] is None or c["gate"]["passed"] else [{"id": c["winner"]["id"], "why": "gate: "
                                                                         + str(c["gate"]["failed"])}]  # fmt: skip
        steps = {"judge": {"policy": {"policy_id": c.get("policy")}, "metrics": c["metrics"]},
                 "grade": {"level": c["status"], "reasons": c["reasons"]},
                 "act": {"actions": c["actions"], "size_multiplier": c["size_multiplier"]},
                 "promote": {"promoted": c["promoted"], "swap": c["swap"], "refused": refused,
                             "test": {"sharpe": (c["winner"] or {}).get("score")}}}  # fmt: skip
        failed = {"step": "improve", "event": "sweep_failed", "what": "execution sweep", "error": c["error"]}
        state = {"cycle": c["cycle"], "steps": steps, "failed": failed if c["error"] else None}
        for event, figures in cycle_alerts(state, previous, 3.0, 0.5, ["CRITICAL", "POOR"]):
            journal.alert(event, figures)
        previous = c["status"]
    journal.close()


def synthetic_journal(
    root: Path, coin: str, n_bars: int = 1440, seed: int = 3, start_ms: int = 1_772_409_600_000
) -> None:
    """A format-true journal of `n_bars` 1-minute bars of `coin` written fast (no trader): start, history, and per bar
    a bar and a decision record, an open/close with acks and fills every few bars, periodic reconciles; plus
    status.json. For the benchmark (a day of bars is 1440)."""
    from live.journal import Journal

    rng = np.random.default_rng(seed)
    now = [start_ms / 1000]
    j = Journal(root, clock=lambda: now[0])
    close = 20000 * np.exp(np.cumsum(rng.normal(0, 3e-4, n_bars + 500)))
    hist = close[:500]
    j.write("start", mode="paper", coin=coin, account="0xbench", policy_id="bench", strategy="rules",
            strategy_spec="rules", base_url="http://127.0.0.1:1", pid=1, resumed=False)  # fmt: skip
    t0 = start_ms - 500 * 60_000
    j.write("history", bars=500, source="paper", t=[t0 + i * 60_000 for i in range(500)], o=hist.tolist(),
            h=(hist * 1.0003).tolist(), l=(hist * 0.9997).tolist(), c=hist.tolist(), v=[50.0] * 500,
            n=[40] * 500)  # fmt: skip
    eq, pos, oid = 10_000.0, 0.0, 1000
    for i in range(n_bars):
        bar = start_ms + i * 60_000
        now[0] = (bar + 60_000) / 1000 + 0.05
        c = float(close[500 + i])
        j.write("bar", bar=bar, o=c, h=c * 1.0003, l=c * 0.9997, c=c, v=50.0, source="paper", actionable=True)
        action = ["HOLD", "BUY", "SELL"][int(rng.choice(3, p=[0.8, 0.1, 0.1]))]
        eq += pos * (c - float(close[499 + i]))
        j.write("decision", bar=bar, action=action, policy_id="bench", close=c, equity=eq, position=pos,
                executed=True, blocked=None, position_state=[0.0, 0.0, 0.0, 0.0], margin=0.1)  # fmt: skip
        if action != "HOLD":
            oid += 1
            is_buy = action == "BUY"
            size = 0.2 if pos == 0 else abs(pos)
            px = c * (1.0005 if is_buy else 0.9995)
            cloid = f"0x{oid:032x}"
            reason = "open" if pos == 0 else "signal"
            j.write("order", order_type="ioc", cloid=cloid, is_buy=is_buy, size=size, limit_px=c * 1.01,
                    reduce_only=pos != 0, leg=cloid, reason=reason, decision_px=c, bar_ms=bar)  # fmt: skip
            j.write("ack", cloid=cloid, status="filled", attempt=0, via="response", oid=oid, filled=size, avg_px=px,
                    slippage_bps=5.0)  # fmt: skip
            d = "Open Long" if is_buy and pos == 0 else ("Open Short" if pos == 0 else "Close")
            j.write("fill", coin=coin, oid=oid, cloid=cloid, side="B" if is_buy else "A", size=size, px=px,
                    fee=px * size * 5e-4, closed_pnl=0.0, time=bar + 60_000, tid=oid, dir=d, crossed=True)  # fmt: skip
            pos = (size if is_buy else -size) if pos == 0 else 0.0
        if i % 15 == 0:
            j.write("reconcile", why="periodic", venue_size=pos, local_size=pos, diffs=[], cancelled=0, placed=0)
    j.write_status({"mode": "paper", "coin": coin, "account": "0xbench", "policy_id": "bench", "running": True,
                    "updated_ms": int(now[0] * 1000), "equity": eq, "start_equity": 10_000.0,
                    "position": {"size": pos, "side": int(np.sign(pos)), "legs": []},
                    "risk": {"peak": 10_000.0, "drawdown_pct": 0.0, "halt_level_pct": 4.0},
                    "feed": {"connected": True, "last_message_age_s": 1.0}})  # fmt: skip
    j.close()


def synthetic_cycles(path: Path, n: int, end_ms: int, seed: int = 5) -> None:
    """`n` cycles in the documented format (the benchmark's month of cycles)."""
    write_demo_cycles(path, end_ms, [{"id": f"rules-params-{i}"} for i in range(5)], "bench", seed, n=n)
