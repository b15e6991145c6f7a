"""`make bench`: every benchmark, repeated, into ONE results file, with the README's performance table in it.

    python -m bench.run_all [--repeat 3] [--out bench/results.md] [--only NAME ...] [--skip NAME ...]
    python -m bench.run_all --readme [bench/results.md]    # copy a results file's table into README.md

Sections (NAME): simulator (core vs vectorbt, the core with maker orders, 180-day rules backtest), backtest (the
policy backtest commands as a user runs them, bench/bench_backtest.py), inference (the compiled network alone),
scaling (Ray, 1 -> 2 workers), tune (a 50-trial execution sweep), paper (the paper exchange with the real SDK,
bench/bench_paper_exchange.py), chunking (chunked vs continuous backtest), execution (market vs maker: cost per round
trip for the rules and a trained policy under the venue's HIP-3 schedule and in growth mode,
bench/bench_execution.py), live (bar close -> order sent through the live trader, bench/bench_live_latency.py),
dashboard (a day of journal and a month of cycles rendered, bench/bench_dashboard.py), import
(`python -m backtest.data import` of a 2-year NQ-style 1-minute file, bench/bench_import.py).
Each figure is reported as min / median / max over `--repeat` runs; a ratio (vectorbt, Ray scaling) is computed from
measurements taken back to back in the same run, pair by pair. Ratios are the portable figures; absolute times and
rates hold for the machine written at the top of the file, and only when nothing else was running (the load average
before and after is recorded: re-run on an idle machine if it is high).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "bench" / "results.md"
SECTIONS = (
    "simulator", "backtest", "inference", "scaling", "tune", "paper", "chunking", "execution", "live", "dashboard",
    "import", "first_run", "rl_speed", "learning",
)  # fmt: skip
TABLES: dict[str, str] = {}  # markdown tables sections hand over (the learning bench's), written after the figures


@dataclass
class Figure:
    """One measured figure: its values over the repeats, how to print it, and where it goes in the README."""

    key: str
    what: str
    unit: str
    values: list[float]
    ratio: bool = False  # portable (a same-run ratio) rather than an absolute figure of this machine
    fmt: str = "{:.2f}"
    higher_is_better: bool = False
    note: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return float(statistics.median(self.values))

    def show(self, value: float) -> str:
        return self.fmt.format(value)

    def span(self) -> str:
        """min / median / max, or the single value."""
        if len(self.values) == 1:
            return self.show(self.values[0])
        return f"{self.show(min(self.values))} / {self.show(self.median)} / {self.show(max(self.values))}"


# --- sections ---------------------------------------------------------------------------------------------------
def simulator(repeat: int) -> list[Figure]:
    from bench.bench_simulator import measure_core, measure_full_backtest

    n = 1_000_000
    core = measure_core(n, max(3, repeat))
    out = [Figure("sim_core", "simulator core: TP/SL, fees, slippage, latency on, one core", "M bars/s",
                  [n / t / 1e6 for t in core["ours_s"]], fmt="{:.1f}", higher_is_better=True)]  # fmt: skip
    if core["vectorbt_s"]:
        out.append(Figure("vectorbt", "vectorbt `Portfolio.from_signals` (sl_stop, tp_stop, fees, slippage), same "
                          "series and entries", "M bars/s", [n / t / 1e6 for t in core["vectorbt_s"]], fmt="{:.1f}",
                          higher_is_better=True))  # fmt: skip
        ratios = [v / o for o, v in zip(core["ours_s"], core["vectorbt_s"])]
        out.append(Figure("vectorbt_ratio", "AML-100 simulator speed / vectorbt's (pairs measured back to back)",
                          "x", ratios, ratio=True, fmt="{:.1f}", higher_is_better=True))  # fmt: skip
    from bench.bench_execution import measure_maker_core

    maker = measure_maker_core(n, max(3, repeat))
    out.append(
        Figure(
            "sim_core_maker",
            "simulator core with maker entries and exits (post-only, 3-bar ttl), CPU time",
            "M bars/s",
            [n / t / 1e6 for t in maker["maker_s"]],
            fmt="{:.1f}",
            higher_is_better=True,
        )
    )
    out.append(Figure("sim_core_maker_ratio", "maker core time / market core time (pairs back to back, CPU time)",
                      "x", [m / k for k, m in zip(maker["market_s"], maker["maker_s"])], ratio=True))  # fmt: skip
    full = measure_full_backtest(repeat)
    out.append(Figure("rules_180d", "180-day 1-minute rules backtest: load, features, simulate, metrics, report data "
                      "(in process)", "s", full))  # fmt: skip
    return out


def backtest(repeat: int) -> list[Figure]:
    from bench.bench_backtest import ensure_checkpoints, measure

    ensure_checkpoints()
    out = []
    for no_halt, label in ((True, "every segment (no halt)"), (False, "default objectives (4 % halt)")):
        workers = [0, 1, 2] if no_halt else [2]
        results = measure(["ppo", "dqn", "ensemble"], workers, repeat, 180.0, no_halt)
        for (strategy, w), runs in results.items():
            out.append(Figure(
                f"cli_{strategy}_w{w}{'_nohalt' if no_halt else ''}",
                f"`python -m backtest --strategy {strategy} --workers {w}`, 180 days, {label}",
                "s", [r["after_ray_s"] for r in runs],
                note="after Ray start",
                extra={"wall incl. Ray start/stop": f"{statistics.median(r['wall_s'] for r in runs):.1f} s"},
            ))  # fmt: skip
    return out


def inference(repeat: int) -> list[Figure]:
    from bench.bench_inference import measure

    out = []
    for key, values in measure(180.0, repeat).items():
        name, path = key.split()
        what = ("LSTM inference alone (compiled), 52 segments x 5,500 steps in batches of 8, one process"
                if path == "compiled" else "same with RLlib `forward_inference` per bar (extrapolated)")  # fmt: skip
        out.append(Figure(f"infer_{name}_{path}", f"{name.upper()}: {what}", "s", values))
    return out


def scaling(repeat: int) -> list[Figure]:
    from bench.bench_ray_scaling import measure
    from cluster import connect

    connect(None)
    res = measure(90, repeat)
    same = all(res["identical"])
    return [
        Figure("ray_1", "Ray scaling, CPU-heavy policy (3-layer MLP per bar), 90 days: 1 worker", "s",
               res["1_worker_s"]),
        Figure("ray_2", "same, 2 workers", "s", res["2_workers_s"], extra={"identical results": str(same)}),
        Figure("ray_speedup", "Ray speed-up 1 -> 2 workers (pairs measured back to back)", "x",
               [a / b for a, b in zip(res["1_worker_s"], res["2_workers_s"])], ratio=True, higher_is_better=True),
    ]  # fmt: skip


def tune(repeat: int) -> list[Figure]:
    from bench.bench_tune import measure
    from cluster import connect

    connect(None)
    values = [measure(50, 180) for _ in range(max(1, min(repeat, 2)))]
    return [Figure("tune_50", "execution sweep: 50 trials x 4 walk-forward folds over 180 days (Ray up)", "s", values)]


def paper(repeat: int) -> list[Figure]:
    """The paper exchange's own bench (owned by the paper-exchange code), run as a program and read: durable (every
    answer waits for its journal entry to be fdatasynced, the default with `--state`) and in memory, alternately."""
    rates: dict[str, list[float]] = {"durable": [], "memory": []}
    p99: list[float] = []
    for _ in range(repeat):
        for kind, extra in (("durable", []), ("memory", ["--no-state"])):
            proc = subprocess.run([sys.executable, "-m", "bench.bench_paper_exchange", *extra], capture_output=True,
                                  text=True, env=_env(), timeout=900)  # fmt: skip
            text = proc.stdout
            rate = re.search(r"= (\d+) actions/s", text)
            lat = re.search(r"market_open round trip.*?p99 ([\d.]+) ms", text)
            if proc.returncode != 0 or rate is None:
                raise RuntimeError(f"bench_paper_exchange failed:\n{text[-2000:]}{proc.stderr[-2000:]}")
            rates[kind].append(float(rate.group(1)))
            if lat and kind == "durable":
                p99.append(float(lat.group(1)))
    out = [
        Figure("paper_rate", "paper exchange, durable (`--state`): signed order actions/s, real SDK clients",
               "actions/s", rates["durable"], fmt="{:,.0f}", higher_is_better=True),
        Figure("paper_rate_memory", "paper exchange, in memory (`--no-state`): same", "actions/s", rates["memory"],
               fmt="{:,.0f}", higher_is_better=True),
    ]  # fmt: skip
    if p99:
        out.append(Figure("paper_p99", "paper exchange, durable: SDK `market_open` round trip incl. signing, p99", "ms",
                          p99))  # fmt: skip
    return out


def chunking(repeat: int) -> list[Figure]:
    """How much a chunked run differs from a continuous one (deterministic: measured once)."""
    from backtest.config import load_objectives, load_params
    from backtest.data.load import load_dataset
    from backtest.features import compute_features
    from backtest.metrics import compute_metrics
    from backtest.runner import run_backtest
    from backtest.sim import Market

    sets = ["trading.max_hold_seconds=0", "backtest.slippage_pct=0.01", "backtest.commission_pct=0.01"]
    objectives = load_objectives(overrides=["auto_stop_drawdown=100"])
    figures = {}
    for chunk in (None, 10**9):
        params = load_params(overrides=sets + ([f"backtest.chunk_size={chunk}"] if chunk else []))
        ds = load_dataset(params, "synthetic", 180)
        market = Market.from_bars(ds.bars, params)
        m = compute_metrics(
            run_backtest(
                "rules", params, objectives, market, compute_features(ds.bars, params.trading, params.market.coin)
            )
        )
        figures["continuous" if chunk else "chunked"] = m
    c, k = figures["chunked"], figures["continuous"]
    text = (f"{c['n_trades']:,} vs {k['n_trades']:,} trades, {c['total_return_pct']:.2f} % vs "
            f"{k['total_return_pct']:.2f} %")  # fmt: skip
    return [
        Figure("chunk_trades", "chunked (5,000-bar segments) vs continuous rules backtest, 180 days, no halt, no max "
               "hold, 0.01 % slippage and fee: difference in trades", "%",
               [abs(c["n_trades"] - k["n_trades"]) / k["n_trades"] * 100], ratio=True, extra={"figures": text}),
        Figure("chunk_return", "same: difference in total return", "percentage points",
               [abs(c["total_return_pct"] - k["total_return_pct"])], ratio=True),
    ]  # fmt: skip


def execution(repeat: int) -> list[Figure]:
    from bench.bench_backtest import ensure_checkpoints
    from bench.bench_execution import compare

    ensure_checkpoints()
    out = []
    for r in compare(["rules", "ppo"], 180.0):  # deterministic: one run each
        rate, mark = r["entry_fill_rate_pct"], r["entry_markout_bps"]
        out.append(Figure(
            f"cost_{r['strategy']}_{r['schedule'].lower().replace('-', '')}_{r['style']}",
            f"cost per round trip, {r['strategy']}, {r['schedule']} fees, {r['style']} orders, 180 days",
            "bps", [r["cost_bps"]], fmt="{:.1f}",
            extra={"trades": f"{r['trades']:,}", "return": f"{r['return_pct']:+.2f} %",
                   "entry fill rate": "n/a" if rate is None else f"{rate:.1f} %",
                   "entry markout": "n/a" if mark is None else f"{mark:+.1f} bps"},
        ))  # fmt: skip
    return out


def live(repeat: int) -> list[Figure]:
    """The live trader's bar close -> order sent, p50 and p99 per run (bench/bench_live_latency.py)."""
    proc_env = _env()
    out = []
    for strategy in ("rules", "ppo", "ensemble"):
        p50, p99 = [], []
        for _ in range(repeat):
            cmd = [sys.executable, "-m", "bench.bench_live_latency", "--strategies", strategy, "--bars", "400"]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=proc_env, timeout=900)
            m = re.search(rf"\| {strategy} \| ([\d.]+) / [\d.]+ / \*\*([\d.]+) ms\*\*", proc.stdout)
            if proc.returncode != 0 or m is None:
                raise RuntimeError(f"bench_live_latency failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
            p50.append(float(m.group(1)))
            p99.append(float(m.group(2)))
        out.append(Figure(f"live_{strategy}_p50", f"live trader, {strategy}: bar close -> order sent, p50", "ms", p50))
        out.append(Figure(f"live_{strategy}_p99", f"live trader, {strategy}: bar close -> order sent, p99", "ms", p99))
    return out


def dashboard(repeat: int) -> list[Figure]:
    """A day of 1-minute journal and a month of cycles: pages rendered in Chromium (bench/bench_dashboard.py)."""
    proc = subprocess.run([sys.executable, "-m", "bench.bench_dashboard", "--repeat", str(repeat)],
                          capture_output=True, text=True, env=_env(), timeout=1800)  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"bench_dashboard failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    out = []
    data_ms = re.search(r"data\s+live page (\d+) ms .*autopilot page (\d+) ms", proc.stdout)
    if data_ms:
        out.append(Figure("dash_data_live", "dashboard data: Live page figures of a day of 1-minute bars", "ms",
                          [float(data_ms.group(1))], fmt="{:.0f}"))  # fmt: skip
    for name, value in re.findall(r"browser (\S[^\n]*?)\s+([\d.]+) s", proc.stdout):
        key = "dash_" + re.sub(r"\W+", "_", name.strip()).strip("_")
        out.append(Figure(key, f"dashboard in Chromium: {name.strip()}", "s", [float(value)]))
    return out


def import_(repeat: int) -> list[Figure]:
    """`python -m backtest.data import` of a 2-year NQ-style 1-minute file: time and peak memory (bench_import)."""
    from bench.bench_import import measure

    runs = [measure() for _ in range(repeat)]
    return [
        Figure("import_2y", f"import of a 2-year NQ-style 1-minute CSV ({runs[0]['rows']:,} rows), "
               "`python -m backtest.data import`", "s", [r["import_s"] for r in runs]),
        Figure("import_2y_cpu", "same: CPU time (user + system)", "s", [r["import_cpu_s"] for r in runs]),
        Figure("import_2y_rss", "same: peak resident memory", "MB", [r["peak_mb"] for r in runs], fmt="{:.0f}"),
    ]  # fmt: skip


def first_run(repeat: int) -> list[Figure]:
    """The first 180-day backtest on a fresh clone, without and with `make setup`'s compile warm-up."""
    from bench.bench_first_run import measure

    m = measure()
    cold_second, warm_second = f"{m['cold_second']:.2f} s", f"{m['warm_second']:.2f} s"
    return [
        Figure("first_run_cold", "fresh clone, first `python -m backtest --days 180 --strategy rules --workers 2`, "
               "cold numba cache (no warm-up)", "s", [m["cold_first"]], extra={"second run": cold_second}),
        Figure("first_run", "fresh clone after `make setup`'s warm-up (`python -m rl.warm`): the first run of the same",
               "s", [m["warm_first"]], extra={"second run": warm_second, "warm-up": f"{m['warm_up']:.0f} s"}),
        Figure("first_run_ratio", "after the warm-up: first run / second run", "x",
               [m["warm_first"] / m["warm_second"]], ratio=True),
    ]  # fmt: skip


def rl_speed(repeat: int) -> list[Figure]:
    """Training throughput before/after (bench/bench_rl_throughput.py), same seed, iterations interleaved."""
    import json
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speed.json"
        cmd = [sys.executable, "-m", "bench.bench_rl_throughput", "--iterations", str(max(2, repeat)), "--json",
               str(out)]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=3600)
        if proc.returncode != 0 or not out.is_file():
            raise RuntimeError(f"bench_rl_throughput failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        data = json.loads(out.read_text())
    figs = []
    for algo, m in data["algos"].items():
        name = algo.upper()
        b, a = m["before"], m["after"]
        figs += [
            Figure(f"rl_{algo}_trained_before", f"{name} training, before (SyncVectorEnv, torch {b['threads']} "
                   "threads): env steps/s trained (sampling + learning)", "steps/s", b["trained"], fmt="{:,.0f}",
                   higher_is_better=True),
            Figure(f"rl_{algo}_trained", f"{name} training, after (compiled vector env, torch {a['threads']} "
                   "thread): env steps/s trained", "steps/s", a["trained"], fmt="{:,.0f}", higher_is_better=True,
                   extra={"sampled": f"{statistics.median(a['sampled']):,.0f} steps/s (before "
                          f"{statistics.median(b['sampled']):,.0f})"}),
            Figure(f"rl_{algo}_speedup", f"{name}: trained steps/s after / before (iterations interleaved, same "
                   "seed)", "x", m["ratio_trained"], ratio=True, higher_is_better=True,
                   extra={"identical weights": str(m["identical"]), "load": f"{m['load']:.1f}"}),
            Figure(f"rl_{algo}_sampled_speedup", f"{name}: sampled steps/s after / before", "x", m["ratio_sampled"],
                   ratio=True, higher_is_better=True),
        ]  # fmt: skip
    return figs


def learning(repeat: int) -> list[Figure]:
    """The multi-seed learning bench, short budget (bench/bench_learning.py); its table goes into the file."""
    import json
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "learning.json"
        cmd = [sys.executable, "-m", "bench.bench_learning", "--budget", "short", "--json", str(out), "--out",
               str(Path(tmp) / "runs")]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=7200)
        if not out.is_file():  # exit 1 with a file = some runs failed: they are named in the table's notes
            raise RuntimeError(f"bench_learning failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        data = json.loads(out.read_text())
    from bench.bench_learning import table

    notes = "".join(f"\n\nNote: {n}: market (taker) execution only." for n in data["notes"])
    notes += "".join(f"\n\nFAILED run, left out: {line}" for line in data.get("failed", []))
    TABLES["learning"] = f"{data['header']}{notes}\n\n{table(data['rows'])}"
    figs = []
    walk = [r for r in data["rows"] if r["kind"] == "walk" and r["gate_promoted"] is not None]
    figs.append(Figure("learn_walk_promoted", "learning bench: random-walk runs the gate would promote (must be 0)",
                       "runs", [float(sum(r["gate_promoted"] for r in walk))], fmt="{:.0f}",
                       extra={"of": str(sum(r["seeds"] for r in walk))}))  # fmt: skip
    for r in data["rows"]:
        if r["kind"] != "walk" and r["strategy"] in ("ppo", "dqn", "ensemble") and r["capture_iqm"] == r["capture_iqm"]:
            figs.append(Figure(f"learn_{r['execution']}_{r['kind']}_{r['strategy']}_iqm",
                               f"learning bench, {r['execution']}, {r['kind']} edge, {r['strategy']}: IQM capture "
                               "of the oracle's PnL",
                               "%", [100 * r["capture_iqm"]], ratio=True, fmt="{:.0f}", higher_is_better=True,
                               extra={"learned": f"{r['learned']} / {r['seeds']}"}))  # fmt: skip
    return figs


RUNNERS: dict[str, Callable[[int], list[Figure]]] = {
    "simulator": simulator, "backtest": backtest, "inference": inference, "scaling": scaling, "tune": tune,
    "paper": paper, "chunking": chunking, "execution": execution, "live": live, "dashboard": dashboard,
    "import": import_, "first_run": first_run, "rl_speed": rl_speed, "learning": learning,
}  # fmt: skip
# the short in-process sections first: subprocess-heavy sections (browsers, servers) can disturb what follows; the
# learning sections last (the longest, and they load both cores)
ORDER = (
    "simulator", "inference", "backtest", "import", "paper", "live", "dashboard", "chunking", "execution", "scaling",
    "tune", "first_run", "rl_speed", "learning",
)  # fmt: skip


# --- the file -----------------------------------------------------------------------------------------------------
def _env() -> dict[str, str]:
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
        mem_gb = f"{int(mem.split()[1]) / 1024**2:.0f} GB"
    except (OSError, StopIteration):
        mem_gb = "?"
    versions = {}
    for name in ("numpy", "numba", "torch", "ray", "vectorbt"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            versions[name] = "-"
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()  # fmt: skip
    return {
        "cpu": f"{cpu}, {os.cpu_count()} logical cores, {mem_gb} RAM",
        "system": f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        "libraries": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "commit": commit or "?",
    }


README_ROWS = [  # (figure key, README label, target, how)
    ("sim_core", "simulator core: TP/SL, fees, slippage, latency on (1,000,000 bars, 1 % entries)", "≥ 50 M",
     "`python -m bench.bench_simulator`"),
    ("vectorbt_ratio", "vs vectorbt `Portfolio.from_signals`, same series and entries", "faster", "same run"),
    ("sim_core_maker_ratio", "simulator core with maker entries and exits, time vs the market core", "≤ 1.5×",
     "`python -m bench.bench_execution`"),
    ("cost_rules_hip3_market", "cost per round trip, rules, HIP-3 fees, market orders (180 days)", "",
     "`python -m bench.bench_execution`"),
    ("cost_rules_hip3_maker", "same, maker orders (post-only at the touch)", "", "same run"),
    ("rules_180d", "180-day 1-minute rules backtest, in process (load, features, simulate, metrics)", "< 2 s",
     "same run"),
    ("cli_ppo_w2_nohalt", "PPO backtest, 180 days, `python -m backtest --strategy ppo --workers 2`, every segment",
     "< 3 s", "`python -m bench.bench_backtest --no-halt`"),
    ("cli_dqn_w2_nohalt", "DQN, same", "< 3 s", "same run"),
    ("cli_ensemble_w2_nohalt", "PPO + DQN ensemble, same", "< 5 s", "same run"),
    ("cli_ensemble_w0_nohalt", "ensemble in one process (`--workers 0`)", "", "same run"),
    ("infer_ppo_compiled", "LSTM inference alone, 52 × 5,500 steps in batches of 8 (PPO)", "",
     "`python -m bench.bench_inference`"),
    ("ray_speedup", "Ray scaling 1 → 2 workers, CPU-heavy policy, 90 days, identical trades", "≥ 1.6×",
     "`python -m bench.bench_ray_scaling`"),
    ("tune_50", "execution sweep: 50 trials × 4 walk-forward folds over 180 days", "minutes",
     "`python bench/bench_tune.py`"),
    ("first_run", "fresh clone after `make setup`: the first 180-day rules backtest (`--workers 2`)", "= second run",
     "`python -m bench.bench_first_run`"),
    ("first_run_cold", "the same without the compile warm-up (cold numba cache)", "", "same run"),
    ("rl_ppo_trained", "PPO training throughput (env steps/s, sampling + learning, 2,000-step iterations)", "",
     "`python -m bench.bench_rl_throughput`"),
    ("rl_ppo_speedup", "PPO training throughput vs before (SyncVectorEnv, torch threads = cores), identical weights",
     "≥ 2×", "same run"),
    ("rl_dqn_trained", "DQN training throughput (env steps/s)", "", "same run"),
    ("rl_dqn_speedup", "DQN training throughput vs before, identical weights", "≥ 2×", "same run"),
    ("learn_walk_promoted", "learning bench: random-walk runs the promotion gate would pass", "0",
     "`python -m bench.bench_learning`"),
    ("paper_rate", "paper exchange, durable (each answer after its journal fsync): signed order actions, real SDK "
     "clients", "≥ 2,000/s", "`python -m bench.bench_paper_exchange`"),
    ("paper_rate_memory", "paper exchange, in memory (`--no-state`): same", "", "`... --no-state`"),
    ("paper_p99", "paper exchange: SDK `market_open` round trip incl. signing, p99", "< 10 ms", "same run"),
    ("live_ppo_p99", "live trader, LSTM-PPO: bar close -> order sent, p99 (SDK, paper exchange on loopback)",
     "< 20 ms", "`python -m bench.bench_live_latency`"),
    ("live_ensemble_p99", "live trader, PPO + DQN ensemble: same, p99", "< 20 ms", "same run"),
    ("live_ensemble_p50", "live trader, ensemble: same, p50", "", "same run"),
    ("dash_live_charts", "dashboard Live page, a day of 1-minute bars: navigation -> figures and charts drawn "
     "(Chromium)", "< 2 s", "`python -m bench.bench_dashboard`"),
    ("dash_autopilot_charts", "dashboard Autopilot page, a month of cycles: same", "< 2 s", "same run"),
    ("dash_research_baseline_charts", "a nearly empty page (Streamlit's own floor): same", "", "same run"),
    ("import_2y", "import of a 2-year NQ-style 1-minute CSV (~709,000 rows): checks, mapping, store", "< 10 s",
     "`python -m bench.bench_import`"),
    ("import_2y_cpu", "same: CPU time", "", "same run"),
    ("import_2y_rss", "same: peak memory", "< 2,048 MB", "same run"),
]  # fmt: skip


def readme_table(figs: dict[str, Figure]) -> str:
    lines = ["| what | figure (median; min–max) | target | how |", "|---|---|---|---|"]
    for key, label, target, how in README_ROWS:
        f = figs.get(key)
        if f is None:
            continue
        unit = "×" if f.unit == "x" else f" {f.unit}"
        rng = "" if len(f.values) == 1 else f" ({f.show(min(f.values))}–{f.show(max(f.values))})"
        kind = "portable ratio" if f.ratio else "this machine"
        if (f.extra or {}).get("identical weights") == "False":  # measured per run, never assumed (docs/RL.md)
            label = label.replace("identical weights", "weights NOT identical (thread count; docs/RL.md)")
        lines.append(f"| {label} | **{f.show(f.median)}{unit}**{rng}, {kind} | {target} | {how} |")
    return "\n".join(lines)


def write(
    out: Path, figs: list[Figure], info: dict[str, str], repeat: int, loads: tuple, seconds: float, failed: list[str]
) -> None:
    by_key = {f.key: f for f in figs}
    detail = ["| figure | unit | min / median / max | runs | kind | notes |", "|---|---|---|---|---|---|"]
    for f in figs:
        notes = "; ".join([f.note, *(f"{k}: {v}" for k, v in f.extra.items())]).strip("; ")
        kind = "ratio (portable)" if f.ratio else "absolute (this machine)"
        detail.append(f"| {f.what} | {f.unit} | {f.span()} | {len(f.values)} | {kind} | {notes} |")
    text = f"""# AML-100 benchmark results

Written by `make bench` (`python -m bench.run_all`); copy the first table into the README's Performance section.

- date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}; commit {info["commit"]}; {repeat} repeats; {seconds / 60:.1f} min
- machine: {info["cpu"]}; {info["system"]}
- libraries: {info["libraries"]}
- load average (1 min) before / after: {loads[0]:.2f} / {loads[1]:.2f} (anything well above 0 means other work shared
  the cores: absolute figures are then pessimistic; ratios hold better)
{f"- FAILED sections, no figures: {', '.join(failed)} (see the run's output)" + chr(10) if failed else ""}
Ratios are the portable figures; absolute times and rates are this machine's.

## README table

{readme_table(by_key)}
{learning_block()}
## Every figure

{chr(10).join(detail)}
"""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)


def learning_block() -> str:
    """The learning bench's table (short budget) as a section of the results file, when it ran."""
    if "learning" not in TABLES:
        return ""
    return f"\n## Learning (`python -m bench.bench_learning`, short budget)\n\n{TABLES['learning']}\n"


README = ROOT / "README.md"
MARK_START, MARK_END = "<!-- bench:start (python -m bench.run_all --readme) -->", "<!-- bench:end -->"
LEARN_START, LEARN_END = "<!-- learning:start (python -m bench.run_all --readme) -->", "<!-- learning:end -->"


def copy_to_readme(results: Path, readme: Path = README) -> None:
    """Put the results file's header facts and README table between the README's bench markers."""
    text = results.read_text()
    table = text.split("## README table", 1)[1].split("## Every figure", 1)[0].strip()
    facts = [line[2:] for line in text.splitlines() if line.startswith(("- date:", "- machine:"))]
    block = f"{MARK_START}\nFrom `{results.relative_to(ROOT)}` ({'; '.join(facts)}):\n\n{table}\n{MARK_END}"
    doc = readme.read_text()
    if MARK_START not in doc or MARK_END not in doc:
        raise SystemExit(f"{readme} has no {MARK_START} ... {MARK_END} block to replace")
    head, rest = doc.split(MARK_START, 1)
    doc = head + block + rest.split(MARK_END, 1)[1]
    if "## Learning (" in text and LEARN_START in doc and LEARN_END in doc:
        learn = text.split("## Learning (", 1)[1].split("\n", 1)[1].split("## Every figure", 1)[0].strip()
        head, rest = doc.split(LEARN_START, 1)
        source = f"From `{results.relative_to(ROOT)}` ({'; '.join(facts)}):"
        doc = head + f"{LEARN_START}\n{source}\n\n{learn}\n{LEARN_END}" + rest.split(LEARN_END, 1)[1]
    readme.write_text(doc)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--readme", nargs="?", const=DEFAULT_OUT, type=Path, help="copy a results file into README.md")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--only", nargs="+", choices=SECTIONS)
    ap.add_argument("--skip", nargs="+", choices=SECTIONS, default=[])
    args = ap.parse_args(argv)
    if args.readme:
        copy_to_readme(args.readme.resolve())
        print(f"README.md: performance table copied from {args.readme}")
        return 0
    os.environ.update({k: v for k, v in _env().items() if k.startswith("RAY_")})
    t0 = time.perf_counter()
    load0 = os.getloadavg()[0]
    figs: list[Figure] = []
    failed: list[str] = []
    for name in ORDER:
        if (args.only and name not in args.only) or name in args.skip:
            continue
        print(f"== {name}", flush=True)
        t = time.perf_counter()
        try:
            got = RUNNERS[name](args.repeat)
        except Exception as exc:  # one broken section must not throw away the others' minutes of measurement
            print(f"   FAILED: {exc}", flush=True)
            failed.append(name)
            continue
        for f in got:
            print(f"   {f.what}: {f.span()} {f.unit}", flush=True)
        print(f"   ({time.perf_counter() - t:.0f} s)", flush=True)
        figs += got
    write(args.out, figs, machine(), args.repeat, (load0, os.getloadavg()[0]), time.perf_counter() - t0, failed)
    print(f"\n{readme_table({f.key: f for f in figs})}\n\nresults: {args.out}")
    if failed:
        print(f"FAILED sections (no figures in the results): {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
