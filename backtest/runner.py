"""Run a strategy over planned segments, in-process or on Ray actors, and merge the results in order.

A `SegmentRunner` holds the strategy, loaded and prepared once in the driver, and runs tasks (fixed groups of
segments). On Ray, the runner (strategy, prepared inputs, market) goes once through the object store to worker actors
(one CPU each, stopped after the run unless the caller keeps them for the next one: they keep their compiled kernels
and imports); `ray.util.ActorPool` hands tasks to actors as they free up. Results are put in segment order, the
drawdown halt is made global (`apply_global_halt`), and the segments are chained by `merge_runs`, so the outcome is
identical for any number of workers.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from backtest.config import Objectives, Params, with_overrides
from backtest.gaps import breaks
from backtest.segments import group_segments, plan_segments
from backtest.sim import POSITION_STATE_DIM, BatchSimulator, Market, SegmentRun, SimParams, merge_runs, run_signals
from backtest.sim.result import BacktestResult
from backtest.strategies.base import PolicyStrategy, SignalStrategy
from backtest.strategies.observation import build_observation
from backtest.strategies.registry import Strategy, resolve_strategy, strategy_overrides
from backtest.venue.fees import FeeSchedule, resolve_fees

Progress = Callable[[int], None]


def run_policy(
    market: Market,
    features: np.ndarray,
    params: SimParams,
    policy: PolicyStrategy,
    segments: list[tuple[int, int]],
    warmup: int,
    peaks: list[float] | None = None,
    compiled: bool = True,
) -> list[SegmentRun]:
    """Advance `segments` in lockstep: one batched `policy.act` per bar for all of them.

    The policy first sees the `warmup` bars before each segment with a flat position state (no trading), so its
    recurrent state is warm when trading starts. A policy with a compiled form of this loop (`policy.lockstep`) runs
    that instead unless `compiled` is False; it takes the same actions.
    """
    if compiled:
        runs = policy.lockstep(market, features, params, segments, warmup, peaks)
        if runs is not None:
            return runs
    starts = np.array([s for s, _ in segments], dtype=np.int64)
    ends = np.array([e for _, e in segments], dtype=np.int64)
    policy.reset(len(segments))
    flat = np.zeros((len(segments), POSITION_STATE_DIM), dtype=np.float32)
    w = min(warmup, int(starts.min()))
    for j in range(w):
        policy.act(build_observation(features[starts - w + j], flat))
    batch = BatchSimulator(market, params, starts, ends, None if peaks is None else np.asarray(peaks, dtype=float))
    last = market.n_bars - 1
    while not batch.done:
        bars = np.minimum(batch.t, last)
        actions = policy.act(build_observation(features[bars], batch.position_state()))
        batch.step(actions)
    return batch.runs()


def execution_params(
    strategy: Strategy, params: Params, objectives: Objectives, fees: FeeSchedule | None = None
) -> SimParams:
    """Simulator parameters for a strategy: its execution overrides applied; no drawdown halt if it opts out. Fees:
    `fees` (the venue's schedule, resolved by the caller) or `resolve_fees` of the strategy's params."""
    params = with_overrides(params, strategy_overrides(strategy))
    sim_params = SimParams.from_config(params, objectives, fees if fees is not None else resolve_fees(params))
    if not strategy.uses_drawdown_halt:
        sim_params = sim_params._replace(auto_stop_frac=0.0)
    return sim_params


def apply_global_halt(
    runs: list[SegmentRun],
    auto_stop_frac: float,
    initial_equity: float,
    rerun: Callable[[int, int, float], SegmentRun],
) -> list[SegmentRun]:
    """Make the drawdown halt global across chained segments, keeping the segments' parallel runs.

    Segments run in parallel, each with its own high-water mark. Chained, the drawdown from the global peak is never
    smaller than a segment's own, so the global halt fires in some segment k no later than its own halt. Segment k is
    rerun with the chained peak (in its own units), which makes it exact; every later segment is flat: no new
    entries after the halt, and the strategy is not consulted.
    """
    if auto_stop_frac <= 0.0:
        return runs
    out: list[SegmentRun] = []
    peak, scale = initial_equity, 1.0
    for k, run in enumerate(runs):
        chained = run.equity * scale
        high = np.maximum(peak, np.maximum.accumulate(chained))
        if np.any(chained <= high * (1.0 - auto_stop_frac)):
            local_peak = peak / scale
            if local_peak > initial_equity:
                run = rerun(run.start, run.end, local_peak)
            if run.halt_bar >= 0:
                return [*out, run, *(_flat(r, initial_equity) for r in runs[k + 1 :])]
            chained = run.equity * scale
            high = np.maximum(peak, np.maximum.accumulate(chained))
        out.append(run)
        peak = float(high[-1])
        scale *= run.equity[-1] / initial_equity
    return out


class HaltWatch:
    """Watches segment runs arrive in segment order and says when the chained drawdown has reached the halt.

    From there every later segment is flat (`apply_global_halt`), so the runner need not compute it: a strategy that
    halts early (common for an untrained or poor policy) costs one task, not the whole span. The test is
    `apply_global_halt`'s own; `run_backtest` still checks the skipped segments really came out flat.
    """

    def __init__(self, auto_stop_frac: float, initial_equity: float) -> None:
        self.frac = auto_stop_frac
        self.initial = initial_equity
        self.peak, self.scale = initial_equity, 1.0
        self.halted = False

    def add(self, runs: list[SegmentRun]) -> bool:
        """Take the next runs in segment order; True once the chained drawdown has reached the halt."""
        if self.frac <= 0.0:
            return False
        for run in runs:
            if self.halted:
                break
            chained = run.equity * self.scale
            high = np.maximum(self.peak, np.maximum.accumulate(chained))
            self.halted = bool(np.any(chained <= high * (1.0 - self.frac)))
            self.peak = float(high[-1])
            self.scale *= run.equity[-1] / self.initial
        return self.halted


def _flat(run: SegmentRun, initial_equity: float) -> SegmentRun:
    return flat_run(run.start, run.end, initial_equity, run.trades[:0])


def flat_run(start: int, end: int, initial_equity: float, no_trades: np.ndarray | None = None) -> SegmentRun:
    """A segment in which nothing happens and no decision is taken (after the global halt)."""
    from backtest.sim import layout as L

    n = end - start
    return SegmentRun(
        start=start,
        end=end,
        equity=np.full(n, initial_equity),
        position=np.zeros(n),
        actions=np.full(n, -1, dtype=np.int8),
        trades=np.zeros((0, L.N_TRADE)) if no_trades is None else no_trades,
        fees=0.0,
        funding=0.0,
        halt_bar=-1,
        orders=np.zeros((2, L.N_OC)),
    )


class SegmentRunner:
    """One loaded strategy with its prepared inputs (signals, or policy features) and the market; runs groups of
    segments. Built once per backtest in the driver; Ray workers receive it pickled (plain arrays), so they never
    resolve or load the strategy themselves."""

    def __init__(
        self,
        spec: str | Strategy,
        params: Params,
        objectives: Objectives,
        market: Market,
        features: np.ndarray,
        fees: FeeSchedule | None = None,
        recorded_fees: dict[str, Any] | None = None,
    ) -> None:
        self.strategy = resolve_strategy(spec, params) if isinstance(spec, str) else spec
        own = with_overrides(params, strategy_overrides(self.strategy))
        self.fees = fees if fees is not None else resolve_fees(own, recorded=recorded_fees)
        self.sim_params = execution_params(self.strategy, params, objectives, self.fees)
        self.market = market
        self.warmup = params.backtest.warmup_bars
        if isinstance(self.strategy, SignalStrategy):
            self.signals = np.ascontiguousarray(self.strategy.signals(market.close, features), dtype=np.int64)
            self.features = None
        else:
            self.signals = None
            self.features = np.ascontiguousarray(self.strategy.prepare(market.close, features), dtype=np.float32)

    @property
    def name(self) -> str:
        return self.strategy.name

    def run(self, group: list[tuple[int, int]], peaks: list[float] | None = None) -> list[SegmentRun]:
        """Run segments; `peaks` seed each segment's drawdown high-water mark (default: its start equity)."""
        peaks = peaks or [0.0] * len(group)
        if self.signals is not None:
            return [
                run_signals(self.market, self.sim_params, self.signals, s, e, peak)
                for (s, e), peak in zip(group, peaks)
            ]
        return run_policy(self.market, self.features, self.sim_params, self.strategy, group, self.warmup, peaks)


@dataclass
class RunPlan:
    segments: list[tuple[int, int]]
    tasks: list[list[tuple[int, int]]]


def plan(market: Market, params: Params) -> RunPlan:
    """Segments (cut at every break of the series: `backtest.gaps`) grouped into tasks."""
    bt = params.backtest
    cuts = breaks(market.ts, market.bar_seconds)
    segments = plan_segments(market.n_bars, bt.chunk_size, bt.warmup_bars, cuts.tolist())
    return RunPlan(segments, group_segments(segments, bt.segments_per_task))


Stop = Callable[[list[SegmentRun]], bool]


def run_tasks_local(
    runner: SegmentRunner, tasks: list[list[tuple[int, int]]], progress: Progress | None, stop: Stop | None = None
) -> list[SegmentRun]:
    """Run tasks in order in this process; after each, `stop(its runs)` True skips the rest."""
    runs: list[SegmentRun] = []
    for task in tasks:
        done = runner.run(task)
        runs.extend(done)
        if progress:
            progress(len(task))
        if stop is not None and stop(done):
            break
    return runs


class SegmentWorker:
    """Ray actor body: runs tasks of the runner it is handed (through the object store, once per backtest).

    A runner that could not be pickled arrives as `RemoteSpec` and is built here, once per backtest.
    """

    def __init__(self) -> None:
        self._built: dict[str, SegmentRunner] = {}

    def warm(self, strategy: Any) -> None:
        """Import the strategy's modules (receiving it does) and let it load its compiled code (`start_workers`)."""
        if isinstance(strategy, PolicyStrategy):
            strategy.warm()

    def run(self, runner: SegmentRunner | RemoteSpec, task: list[tuple[int, int]]) -> list[SegmentRun]:
        if isinstance(runner, RemoteSpec):
            if runner.key not in self._built:
                self._built = {runner.key: runner.build()}
            runner = self._built[runner.key]
        return runner.run(task)


@dataclass
class RemoteSpec:
    """How a worker builds a runner whose strategy object does not pickle: resolve the spec there."""

    key: str
    spec: str
    params: Params
    objectives: Objectives
    market: Market
    features: np.ndarray
    fees: FeeSchedule

    def build(self) -> SegmentRunner:
        return SegmentRunner(self.spec, self.params, self.objectives, self.market, self.features, self.fees)


_POOL: dict[str, Any] = {"job": None, "actors": []}


def shutdown_pool() -> None:
    """Stop the pooled worker actors, giving their CPUs back to Ray."""
    import ray

    for actor in _POOL["actors"]:
        ray.kill(actor)
    _POOL["actors"] = []


def worker_pool(n: int) -> list[Any]:
    """`n` worker actors, reused across runs until `shutdown_pool` (each holds one CPU while it lives)."""
    import ray

    job = ray.get_runtime_context().get_job_id()
    if _POOL["job"] != job:
        _POOL.update(job=job, actors=[])
    actors = _POOL["actors"]
    while len(actors) < n:
        actors.append(ray.remote(num_cpus=1)(SegmentWorker).remote())
    return actors[:n]


def start_workers(workers: int, strategy: Strategy | None = None) -> None:
    """Start the worker actors now, without waiting: a worker process takes ~1 s to import numpy, pandas, numba and
    this package, which then overlaps with whatever the caller does next (the CLI loads data and computes features).
    With `strategy`, each worker also receives it, importing its modules too. `run_backtest` uses these actors."""
    import ray

    actors = worker_pool(workers)
    if strategy is not None:
        try:
            ref = ray.put(strategy)
        except Exception:  # a strategy that does not pickle is built in the workers later (RemoteSpec)
            return
        for actor in actors:
            actor.warm.remote(ref)


def _put_runner(runner: SegmentRunner, spec: str | Strategy, params: Params, objectives: Objectives, features):
    """The runner in the object store; if its strategy does not pickle, how to build it in the workers instead."""
    import ray

    try:
        return ray.put(runner)
    except Exception as exc:  # cloudpickle and Ray raise several types for objects that do not pickle
        if not isinstance(spec, str):
            raise TypeError(f"strategy {runner.name!r} cannot be sent to Ray workers: {exc}") from exc
        return ray.put(RemoteSpec(uuid.uuid4().hex, spec, params, objectives, runner.market, features, runner.fees))


def run_tasks_ray(
    runner: SegmentRunner,
    tasks: list[list[tuple[int, int]]],
    workers: int,
    progress: Progress | None,
    keep_workers: bool = False,
    remote: Any = None,
    stop: Stop | None = None,
) -> list[SegmentRun]:
    """Run tasks on `workers` actors (`ray.util.ActorPool`: the next task goes to the next free actor; results come
    back in task order). `remote` is the runner's object-store reference (default: put it now). After each result
    in order, `stop(its runs)` True leaves the remaining tasks undone.

    The actors are stopped afterwards (they hold a CPU each) unless `keep_workers`, for callers that run many
    backtests in a row and call `shutdown_pool` themselves.
    """
    import ray
    from ray.util import ActorPool

    ref = remote if remote is not None else ray.put(runner)
    pool = ActorPool(worker_pool(max(1, min(workers, len(tasks)))))
    runs: list[SegmentRun] = []
    try:
        for task, done in zip(tasks, pool.map(lambda actor, task: actor.run.remote(ref, task), tasks)):
            runs.extend(done)
            if progress:
                progress(len(task))
            if stop is not None and stop(done):
                break
    finally:
        if not keep_workers:
            shutdown_pool()
    return runs


def run_backtest(
    spec: str | Strategy,
    params: Params,
    objectives: Objectives,
    market: Market,
    features: np.ndarray,
    provenance: dict[str, Any] | None = None,
    workers: int = 0,
    progress: Progress | None = None,
    keep_workers: bool = False,
    fees: FeeSchedule | None = None,
) -> BacktestResult:
    """Backtest strategy `spec` (a `--strategy` spec or a strategy object) over the market; `workers` = 0 runs in
    this process, N >= 1 on N Ray actors. The strategy is loaded and prepared once, here.

    `keep_workers` keeps the actors for the next run (see `run_tasks_ray`). `fees`: the schedule to charge (default
    `resolve_fees(params)` with the venue schedule the data's provenance recorded); the result's provenance says
    which (`provenance["fees"]`).
    """
    run_plan = plan(market, params)
    runner = SegmentRunner(spec, params, objectives, market, features, fees, (provenance or {}).get("fees"))
    initial = params.backtest.initial_equity
    watch = HaltWatch(runner.sim_params.auto_stop_frac, initial)
    if workers <= 0:
        runs = run_tasks_local(runner, run_plan.tasks, progress, watch.add)
    else:
        remote = _put_runner(runner, spec, params, objectives, features)
        runs = run_tasks_ray(runner, run_plan.tasks, workers, progress, keep_workers, remote, watch.add)
    done = {r.start for r in runs}
    skipped = [flat_run(s, e, initial) for s, e in run_plan.segments if s not in done]  # after the halt: flat
    if progress and skipped:
        progress(len(skipped))

    def rerun(s: int, e: int, peak: float) -> SegmentRun:
        return runner.run([(s, e)], [peak])[0]

    merged = apply_global_halt(sorted(runs + skipped, key=lambda r: r.start), runner.sim_params.auto_stop_frac,
                               initial, rerun)  # fmt: skip
    if any(r is k for r in merged for k in skipped):  # the halt did not come after all (rounding): run them
        for task in run_plan.tasks:
            if any(s not in done for s, _ in task):  # whole planned tasks: the same lockstep batches as always
                runs += [r for r in runner.run(task) if r.start not in done]
        merged = apply_global_halt(sorted(runs, key=lambda r: r.start), runner.sim_params.auto_stop_frac, initial,
                                   rerun)  # fmt: skip
    provenance = {**(provenance or {}), "fees": runner.fees.to_dict()}
    result = merge_runs(market, merged, initial, strategy=runner.name, provenance=provenance)
    sp = runner.sim_params
    result.execution = {
        **params.execution.model_dump(mode="json"),
        "taker_pct": sp.taker_frac * 100.0,
        "maker_pct": sp.maker_frac * 100.0,
        "slippage_pct": sp.slip_frac * 100.0,
    }
    return result
