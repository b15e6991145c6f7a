"""Live decision latency: bar close -> order sent, through the real trader and the unmodified SDK.

    python -m bench.bench_live_latency [--bars 300] [--history 600]

A rehearsal (`live.rehearsal`): a manual-clock paper exchange in this process and the live `Trader` against it over
loopback. For each bar the clock starts when the candle feed hands the closed bar to the trader and stops when the
trader calls the SDK to send the first order the *decision* produced (an open or a signal close), so it covers the
account read, risk update, features, the strategy (LSTM forward with its carried state), the action interpreter,
sizing and order building. Also reported: the decision alone (`StrategyStream.on_bar`).

Strategies: the RSI/MACD rules; the LSTM-PPO policy and the PPO + DQN ensemble at the configured size (rl.lstm_layers
x rl.lstm_hidden): the newest trained runs under runs/ when there are any (`make run` makes them), else untrained
modules of the same architecture (latency does not depend on the weights). Target: p99 < 20 ms on this machine.
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import numpy as np

from backtest.config import Params
from backtest.strategies.base import Strategy

TARGET_P99_MS = 20.0


def _untrained(params: Params, kind: str) -> Strategy:
    import gymnasium as gym
    import torch

    from backtest.features import FEATURE_NAMES, NormStats
    from backtest.sim import POSITION_STATE_DIM
    from rl.algos import model_config
    from rl.inference import FastPolicy
    from rl.modules import LSTMActorCriticModule, LSTMDuelingQModule
    from rl.policy import RLPolicyStrategy

    torch.manual_seed(0)
    cls = LSTMActorCriticModule if kind == "ppo" else LSTMDuelingQModule
    cfg = {**model_config(params), "dueling": True, "double_q": True, "num_atoms": 1, "epsilon": 0.0}
    dim = len(FEATURE_NAMES) + POSITION_STATE_DIM
    space = gym.spaces.Box(-np.inf, np.inf, (dim,), np.float32)
    module = cls(observation_space=space, action_space=gym.spaces.Discrete(3), model_config=cfg).eval()
    norm = NormStats(np.zeros(len(FEATURE_NAMES)), np.full(len(FEATURE_NAMES), 0.01), FEATURE_NAMES)
    return RLPolicyStrategy(
        FastPolicy(module, params.trading.min_q_diff), norm, list(FEATURE_NAMES), name=f"rl-{kind}-untrained"
    )


def strategy_for(name: str, params: Params, trained: bool = True) -> tuple[Strategy, str]:
    """(strategy, where it came from) for rules | ppo | ensemble."""
    from backtest.strategies.rules import RulesStrategy

    if name == "rules":
        return RulesStrategy(params.trading), "rules"
    from rl import checkpoint as ck
    from rl.policy import load_strategy

    if trained and ck.latest(ck.DEFAULT_RUNS_DIR, name) is not None:
        return load_strategy(name, params), f"newest trained {name} under runs/"
    if name == "ppo":
        return _untrained(params, "ppo"), "untrained LSTM-PPO module"
    from backtest.strategies.rules import RulesStrategy
    from rl.ensemble import EnsembleStrategy

    members = [_untrained(params, "ppo"), _untrained(params, "dqn")]
    ens = EnsembleStrategy(members, params.trading.signal_threshold, RulesStrategy(params.trading),
                           member_names=["ppo", "dqn"])  # fmt: skip
    return ens, "untrained LSTM-PPO + LSTM-DQN ensemble"


MIN_ORDERS = 20  # fewer orders than this and a p99 means nothing


def measure_any(name: str, bars: int, history: int) -> dict:
    """`measure` on the trained policy; when it sends too few orders for a p99 (a policy that mostly holds), again on
    the untrained module of the same architecture, whose forward pass costs the same, and say so."""
    row = measure(name, bars, history)
    if row["orders"] < MIN_ORDERS and name != "rules" and row["origin"].startswith("newest trained"):
        sent = row["orders"]
        row = measure(name, bars, history, trained=False)
        row["origin"] += f" (the newest trained {name} sent {sent} orders in {bars} bars, too few for a p99)"
    return row


def measure(name: str, bars: int, history: int, trained: bool = True) -> dict:
    from live.rehearsal import make_rig

    sends: list[tuple[float, str, int | None]] = []
    ready: dict[int, float] = {}
    decide: list[float] = []
    holder: dict = {}

    def factory(params: Params) -> Strategy:
        strategy, origin = strategy_for(name, params, trained)
        holder["origin"] = origin
        return strategy

    rig = make_rig(Path(tempfile.mkdtemp(prefix="aml100-latency-")), factory,
                   ["live.daily_loss_limit_pct=0", "trading.rsi_buy_below=45", "trading.rsi_sell_above=55"],
                   n_bars=history + bars + 20, history=history)  # fmt: skip
    trader = rig.trader
    poll, on_bar = trader.venue.feed.poll, trader.stream.on_bar

    def timed_poll(timeout_s: float = 0.5):
        out = poll(timeout_s)
        now = time.perf_counter()
        for b in out:
            ready[b.time_ms] = now
        return out

    def on_send(intent):
        sends.append((time.perf_counter(), intent.reason, intent.bar_ms))

    def timed_on_bar(bar, pos):
        t0 = time.perf_counter()
        out = on_bar(bar, pos)
        decide.append(time.perf_counter() - t0)
        return out

    trader.venue.feed.poll, trader.stream.on_bar = timed_poll, timed_on_bar
    trader.exec.on_send = on_send
    gc.collect()
    gc.freeze()  # as the live entry points do after start-up: no full collection walks the startup heap mid-bar
    try:
        for _ in range(bars):
            rig.advance()
    finally:
        rig.stop()
    first: dict[int, float] = {}
    for t, reason, bar_ms in sends:
        if reason in ("open", "signal") and bar_ms is not None and bar_ms not in first:
            first[bar_ms] = t
    lat = np.array([first[b] - ready[b] for b in first if b in ready]) * 1000
    dec = np.array(decide) * 1000
    return {
        "strategy": name,
        "origin": holder.get("origin", ""),
        "orders": len(lat),
        "p50": float(np.percentile(lat, 50)) if len(lat) else float("nan"),
        "p90": float(np.percentile(lat, 90)) if len(lat) else float("nan"),
        "p99": float(np.percentile(lat, 99)) if len(lat) else float("nan"),
        "max": float(lat.max()) if len(lat) else float("nan"),
        "decide_p50": float(np.percentile(dec, 50)),
        "decide_p99": float(np.percentile(dec, 99)),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_live_latency", description=__doc__.split("\n\n")[0])
    ap.add_argument("--bars", type=int, default=600)
    ap.add_argument("--history", type=int, default=600)
    ap.add_argument("--strategies", nargs="+", default=["rules", "ppo", "ensemble"])
    args = ap.parse_args(argv)
    rows = [measure_any(s, args.bars, args.history) for s in args.strategies]
    print("| strategy | bar close -> order sent p50 / p90 / p99 (max) | decision alone p50 / p99 | orders | policy |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['strategy']} | {r['p50']:.2f} / {r['p90']:.2f} / **{r['p99']:.2f} ms** ({r['max']:.1f}) | "
              f"{r['decide_p50']:.2f} / {r['decide_p99']:.2f} ms | {r['orders']} | {r['origin']} |")  # fmt: skip
    worst = max(r["p99"] for r in rows)
    print(f"target p99 < {TARGET_P99_MS:g} ms: {'met' if worst < TARGET_P99_MS else 'NOT met'} (worst {worst:.2f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
