"""`python -m rl.warm` (run by `make setup`): compile every numba kernel once, into numba's on-disk cache.

The simulator, features, rules, synthetic generator, compiled policy inference and lockstep loop, vector env and
reward are cached compiled functions (`backtest.jit.cached_njit`): the first process that calls one compiles it
(seconds each) and writes the machine code next to the source (`__pycache__/*.nbi|*.nbc`); every later process, Ray
workers included, loads it in milliseconds. A change to any compiled module recompiles them all (backtest/jit.py).
On a fresh clone that first compile used to land in the user's first backtest (13 s instead of 3).
This runs every path once on a few days of synthetic bars, with the same argument types the real commands use:
backtests of the rules, buy-and-hold, the oracle, a PPO, a DQN and their ensemble (compiled lockstep), each also as a
Ray worker runs it (read-only arrays: their own compiled signature), the bar-by-bar stream the live trader drives,
and the training envs. Nothing is written but numba's cache.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

SETS = ["backtest.days=2", "backtest.chunk_size=600", "backtest.warmup_bars=50"]


def as_ray_worker_sees(obj):
    """`obj` after a trip through Ray's object store: pickled out of band, its arrays rebuilt on immutable buffers,
    i.e. read-only. numba compiles (and caches) read-only arrays as a type of their own, so the workers' kernels
    need warming with these too."""
    import pickle

    buffers: list = []
    data = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    return pickle.loads(data, buffers=[bytes(b.raw()) for b in buffers])


def backtest_both_ways(strategy, params, objectives, market, features) -> None:
    """A backtest in this process, and one task of it as a Ray worker runs it (read-only inputs)."""
    from backtest.runner import SegmentRunner, plan, run_backtest

    run_backtest(strategy, params, objectives, market, features)
    runner = as_ray_worker_sees(SegmentRunner(strategy, params, objectives, market, features))
    runner.run(plan(market, params).tasks[0])


def _policy_strategies(params, prepared):
    """A PPO and a DQN with fresh random weights, as the trained ones load (same layout and dtypes)."""
    import gymnasium as gym
    import numpy as np

    from backtest.sim import POSITION_STATE_DIM
    from rl.algos import model_config
    from rl.modules import LSTMActorCriticModule, LSTMDuelingQModule
    from rl.policy import RLPolicyStrategy

    dim = prepared.features.shape[1] + POSITION_STATE_DIM
    space = gym.spaces.Box(-np.inf, np.inf, (dim,), np.float32)
    out = []
    for cls, name in ((LSTMActorCriticModule, "ppo"), (LSTMDuelingQModule, "dqn")):
        module = cls(observation_space=space, action_space=gym.spaces.Discrete(3), model_config=model_config(params))
        out.append(RLPolicyStrategy.from_module(module, prepared.norm, prepared.feature_names, 0.0, f"rl-{name}"))
    return out


def warm(verbose: bool = True) -> float:
    """Run every compiled path once; returns the seconds it took (mostly compiling, when the cache was cold)."""
    import numpy as np

    from backtest.config import load_objectives, load_params, with_overrides
    from backtest.domain import Bar
    from backtest.sim import POSITION_STATE_DIM, Market
    from backtest.strategies.oracle import OracleStrategy
    from backtest.strategies.rules import RulesStrategy
    from backtest.strategies.stream import StrategyStream
    from rl.data import prepare
    from rl.ensemble import EnsembleStrategy
    from rl.env import TradingEnv
    from rl.evaluate import span_result
    from rl.vector_env import TradingVectorEnv

    t0 = time.perf_counter()

    def step(what: str) -> None:
        if verbose:
            print(f"  {what:<58} {time.perf_counter() - t0:6.1f} s", flush=True)

    params = load_params(overrides=SETS)
    objectives = load_objectives()
    prepared = prepare(params, "synthetic", 2.0)  # synthetic generator, features, normalisation
    step("synthetic bars, features")
    for spec in ("rules", "buyhold"):
        backtest_both_ways(spec, params, objectives, prepared.market, prepared.raw_features)
    atr = with_overrides(params, ["trading.atr_stop.enabled=true", "trading.kelly.enabled=true"])
    Market.from_bars(prepared.bars, atr)
    step("simulator, rules, buy-and-hold")
    edge = with_overrides(params, ["synth.edge.enabled=true"])
    edge_data = prepare(edge, "synthetic", 2.0)
    span_result(OracleStrategy.for_params(edge, "synthetic", 2.0), edge_data, edge, edge_data.splits.test)
    step("oracle (policy loop, batch simulator)")
    ppo, dqn = _policy_strategies(params, prepared)
    rules = RulesStrategy(params.trading)
    ens = EnsembleStrategy([ppo, dqn], params.trading.signal_threshold, rules, feature_names=ppo.feature_names)
    for strategy in (ppo, dqn, ens):
        backtest_both_ways(strategy, params, objectives, prepared.market, prepared.raw_features)
    step("compiled policy inference and lockstep (PPO, DQN, ensemble)")
    flat = np.zeros(POSITION_STATE_DIM, dtype=np.float32)
    for strategy in (rules, ppo, ens):  # the live trader's bar-by-bar path
        stream = StrategyStream(strategy, params.trading, params.backtest.warmup_bars)
        stream.warm_up(prepared.bars.iloc[:300])
        for row in prepared.bars.iloc[300:303].itertuples():
            ms = int(row.timestamp.value // 1_000_000)
            stream.on_bar(Bar(ms, row.open, row.high, row.low, row.close, row.volume, row.trades, "synthetic"), flat)
    step("bar-by-bar streams (live)")
    config = {"params": params.model_dump(mode="json"), "source": "synthetic", "days": 2.0, "seed": 1}
    env = TradingEnv(config)
    env.reset(seed=1)
    for a in (1, 0, 2, 0):
        env.step(a)
    vec = TradingVectorEnv(config, num_envs=2)
    vec.reset(seed=1)
    for a in (1, 0, 2, 0):
        vec.step(np.full(2, a))
    step("training envs (single and vector)")
    return time.perf_counter() - t0


def main() -> int:
    print("compiling numba kernels into their cache (once per checkout):", flush=True)
    seconds = warm()
    print(f"done in {seconds:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
