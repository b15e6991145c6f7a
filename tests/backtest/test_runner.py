"""Chunked backtests: segment semantics, worker-count invariance, policy lockstep parity, causality, the CLI."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from backtest.__main__ import main as backtest_main
from backtest.config import load_objectives, load_params
from backtest.data.load import load_dataset
from backtest.features import compute_features
from backtest.runner import HaltWatch, SegmentRunner, run_backtest, run_policy
from backtest.segments import group_segments, plan_segments
from backtest.sim import BUY, HOLD, SELL, Market, SimParams, Simulator, merge_runs
from backtest.strategies.base import PolicyStrategy
from backtest.strategies.observation import build_observation
from backtest.strategies.registry import StrategyError, resolve_strategy
from backtest.strategies.rules import RulesStrategy

SMALL = ["backtest.days=3", "backtest.chunk_size=700", "backtest.warmup_bars=100", "backtest.segments_per_task=2"]


@pytest.fixture(scope="module")
def small():
    params = load_params(overrides=SMALL)
    objectives = load_objectives()
    ds = load_dataset(params, "synthetic")
    features = compute_features(ds.bars, params.trading)
    return params, objectives, ds, features, Market.from_bars(ds.bars, params)


def test_segments_share_boundary_bars_and_cover_the_span_after_warmup():
    segs = plan_segments(n_bars=1000, chunk_size=300, warmup=100)
    assert segs[0][0] == 100 and segs[-1][1] == 1000
    for (_, e), (s, _) in itertools.pairwise(segs):
        assert s == e - 1
    assert plan_segments(1000, 10_000, 100) == [(100, 1000)]
    assert [len(g) for g in group_segments(segs, 2)] == [2, 1]


def test_tiny_tail_is_folded_into_the_previous_segment():
    segs = plan_segments(n_bars=1003, chunk_size=500, warmup=0)
    assert segs == [(0, 501), (500, 1003)]


def test_rules_signals_are_causal_changing_later_bars_changes_no_earlier_decision(small):
    params, objectives, ds, features, market = small
    t = 2000
    bars = ds.bars.copy()
    rng = np.random.default_rng(0)
    later = bars.index[t + 1 :]
    factor = np.exp(rng.normal(0, 0.01, len(later)))
    for col in ("open", "high", "low", "close"):
        bars.loc[later, col] = bars.loc[later, col].to_numpy() * factor
    rules = RulesStrategy(params.trading)
    base = rules.signals(ds.bars["close"].to_numpy())
    changed = rules.signals(bars["close"].to_numpy())
    np.testing.assert_array_equal(base[: t + 1], changed[: t + 1])
    assert not np.array_equal(base[t + 1 :], changed[t + 1 :])
    # and through the whole pipeline: no trade that exited by t, and no equity up to t, changes
    p = load_params(overrides=[*SMALL, "backtest.chunk_size=100000"])
    r1 = run_backtest("rules", p, objectives, market, features)
    m2 = Market.from_bars(bars, p)
    r2 = run_backtest("rules", p, objectives, m2, compute_features(bars, p.trading))
    k = t - r1.segments[0][0]
    np.testing.assert_array_equal(r1.equity[: k + 1], r2.equity[: k + 1])
    done1 = r1.trades[r1.trades.exit_bar <= k]
    pd.testing.assert_frame_equal(done1, r2.trades.iloc[: len(done1)])


def test_one_and_two_ray_workers_give_identical_trades(small, ray_session):
    params, objectives, ds, features, market = small
    one = run_backtest("rules", params, objectives, market, features, workers=1)
    two = run_backtest("rules", params, objectives, market, features, workers=2)
    local = run_backtest("rules", params, objectives, market, features, workers=0)
    assert len(one.segments) >= 5 and len(one.trades) > 10
    pd.testing.assert_frame_equal(one.trades, two.trades)
    pd.testing.assert_frame_equal(one.trades, local.trades)
    np.testing.assert_array_equal(one.equity, two.equity)


def test_chunk_size_equal_to_the_span_is_one_continuous_run(small):
    params, objectives, ds, features, market = small
    p = load_params(overrides=[*SMALL, f"backtest.chunk_size={market.n_bars}"])
    res = run_backtest("rules", p, objectives, market, features)
    assert res.segments == [(100, market.n_bars)]
    runner = SegmentRunner("rules", p, objectives, market, features)
    sim = Simulator(market, runner.sim_params)
    sim.reset(100, market.n_bars)
    while not sim.done:
        sim.step(int(runner.signals[sim.t]))
    np.testing.assert_array_equal(sim.result().equity, res.equity)


def test_merged_equity_chains_segment_returns(small):
    params, objectives, ds, features, market = small
    res = run_backtest("rules", params, objectives, market, features)
    assert res.equity[0] == params.backtest.initial_equity
    total_pnl = res.trades.pnl.sum()
    assert res.final_equity == pytest.approx(params.backtest.initial_equity + total_pnl, rel=1e-9)


def test_buy_and_hold_is_one_trade_per_segment_without_stops(small):
    params, objectives, ds, features, market = small
    res = run_backtest("buyhold", params, objectives, market, features)
    assert len(res.trades) == len(res.segments)
    assert set(res.trades.exit_reason.astype(str)) == {"end"}


class ThresholdPolicy(PolicyStrategy):
    """Deterministic stand-in for a trained policy: trades on the sign of the 1-bar return, exits in profit."""

    name = "threshold"

    def reset(self, batch: int) -> None:
        self.calls = 0

    def act(self, obs: np.ndarray) -> np.ndarray:
        self.calls += 1
        ret1, side, upnl = obs[:, 0], obs[:, -4], obs[:, -3]
        out = np.full(len(obs), HOLD, dtype=np.int8)
        out[(side == 0) & (ret1 > 0.0005)] = BUY
        out[(side == 0) & (ret1 < -0.0005)] = SELL
        out[(side > 0) & (upnl > 0)] = SELL
        out[(side < 0) & (upnl > 0)] = BUY
        return out


def test_policy_lockstep_batch_matches_the_step_api_segment_by_segment(small):
    params, objectives, ds, features, market = small
    p = load_params(overrides=[*SMALL, "trading.max_hold_seconds=600"])
    sp = SimParams.from_config(p, objectives)
    segments = plan_segments(market.n_bars, 700, 100)
    policy = ThresholdPolicy()
    runs = run_policy(market, features, sp, policy, segments, warmup=100)
    assert sum(len(r.trades) for r in runs) > 10  # 3 synthetic days from 2026-01-01: mostly closed sessions (quiet)
    for (s, e), run in zip(segments, runs):
        sim = Simulator(market, sp)
        sim.reset(s, e)
        single = ThresholdPolicy()
        single.reset(1)
        while not sim.done:
            obs = build_observation(features[sim.t][None], sim.position_state()[None])
            sim.step(int(single.act(obs)[0]))
        np.testing.assert_array_equal(sim.result().equity, run.equity)


def test_unknown_strategy_names_the_choices():
    with pytest.raises(StrategyError, match="rules"):
        resolve_strategy("no-such-strategy", load_params())


def test_cli_runs_end_to_end_and_writes_the_report(tmp_path, capsys):
    code = backtest_main(
        ["--days", "2", "--data", "synthetic", "--workers", "0", "--chunk-size", "1000", "--out", str(tmp_path)]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "monthly return" in out and "report:" in out
    assert (tmp_path / "report.html").exists() and (tmp_path / "metrics.json").exists()


def test_cli_runs_on_proxy_data_prints_the_shares_and_cuts_segments_at_the_gaps(tmp_path, capsys):
    from backtest.data.store import BarStore
    from backtest.data.vendor.importer import ImportOptions, import_files
    from backtest.data.vendor.samples import write_sample

    write_sample(tmp_path / "nq.csv", "kibot", "2024-05-06", 5)
    import_files([str(tmp_path / "nq.csv")], BarStore(tmp_path / "store"), ImportOptions("xyz:XYZ100", "1m"))
    argv = ["--days", "4", "--data", "proxy", "--workers", "0", "--chunk-size", "1000", "--no-report",
            "--set", f"backtest.data_dir={tmp_path / 'store'}", "--set", "backtest.warmup_bars=100"]  # fmt: skip
    assert backtest_main(argv) == 0
    out = capsys.readouterr().out
    assert "(proxy: real 0.0 % / proxy 100.0 % / synthetic 0.0 %)" in out and "gaps: daily break" in out
    assert "100.0 % proxy (" in out and "(cut at 3 gaps)" in out


def test_cli_bad_override_exits_2_naming_the_key(capsys):
    with pytest.raises(SystemExit) as exc:
        from backtest.cli import run_main

        run_main(lambda: backtest_main(["--set", "trading.stop_loss_pct=150", "--workers", "0"]))
    assert exc.value.code == 2
    assert "trading.stop_loss_pct = 150" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["file", "under_a_file", "config_dir", "config_binary"])
def test_cli_refuses_a_bad_out_or_config_at_the_door_before_any_work(tmp_path, capsys, monkeypatch, kind):
    import backtest.data.load as load_mod

    def no_work(*_a, **_k):  # reaching the data load means the check came too late
        raise AssertionError("work started before the bad path was refused")

    monkeypatch.setattr(load_mod, "load_dataset", no_work)
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    binary = tmp_path / "params.bin"
    binary.write_bytes(bytes(range(256)))
    args = {
        "file": ["--out", str(a_file)],
        "under_a_file": ["--out", str(a_file / "report")],
        "config_dir": ["--config", str(tmp_path)],
        "config_binary": ["--config", str(binary)],
    }[kind]
    from backtest.cli import run_main

    with pytest.raises(SystemExit) as exc:
        run_main(lambda: backtest_main(["--days", "1", "--workers", "0", *args]))
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "Traceback" not in err and err.count("\n") == 1
    assert ("--out" in err) if kind in ("file", "under_a_file") else ("config" in err)


def _sequential_reference(runner, segments, initial):
    """Ground truth for the global halt: segments one after another, each seeded with the chained peak."""
    out, peak, scale = [], initial, 1.0
    for s, e in segments:
        run = runner.run([(s, e)], [peak / scale])[0]
        out.append(run)
        if run.halt_bar >= 0:
            break
        peak = max(peak, float(np.max(run.equity * scale)))
        scale *= run.equity[-1] / initial
    return out


def test_drawdown_halt_is_global_across_segments_and_matches_a_sequential_run(small):
    params, objectives, ds, features, market = small
    p = load_params(overrides=[*SMALL, "backtest.chunk_size=300"])
    o = load_objectives(overrides=["auto_stop_drawdown=5"])
    res = run_backtest("rules", p, o, market, features)
    assert len(res.halts) == 1
    halt = res.halts[0]
    assert halt > res.segments[1][0] - res.segments[0][0]  # after the first segment: the rerun path is exercised
    assert not (res.trades.entry_bar > halt).any()  # no entry after the halt
    drawdown = 1 - res.equity / np.maximum.accumulate(res.equity)
    assert drawdown[halt] >= 0.05 and drawdown[:halt].max() < 0.05
    runner = SegmentRunner("rules", p, o, market, features)
    reference = _sequential_reference(runner, plan_segments(market.n_bars, 300, 100), p.backtest.initial_equity)
    assert len(reference) < len(res.segments)  # the halt came before the last segment
    expected = merge_runs(market, reference, p.backtest.initial_equity).trades
    pd.testing.assert_frame_equal(res.trades, expected)


def test_buy_and_hold_is_exempt_from_the_drawdown_halt(small):
    params, objectives, ds, features, market = small
    o = load_objectives(overrides=["auto_stop_drawdown=0.1"])
    res = run_backtest("buyhold", params, o, market, features)
    assert res.halts == [] and len(res.trades) == len(res.segments)


def test_segments_after_the_global_halt_are_not_computed_and_change_nothing(small, monkeypatch):
    params, objectives, ds, features, market = small
    p = load_params(overrides=[*SMALL, "backtest.chunk_size=300"])
    o = load_objectives(overrides=["auto_stop_drawdown=5"])
    computed: list[int] = []
    run = SegmentRunner.run

    def counted(self, group, peaks=None):
        computed.append(len(group))
        return run(self, group, peaks)

    monkeypatch.setattr(SegmentRunner, "run", counted)
    early = run_backtest("rules", p, o, market, features)
    n_early = sum(computed)
    computed.clear()
    monkeypatch.setattr(HaltWatch, "add", lambda self, runs: False)  # compute every segment
    full = run_backtest("rules", p, o, market, features)
    assert len(early.halts) == 1 and n_early < sum(computed) - 2
    pd.testing.assert_frame_equal(early.trades, full.trades)
    np.testing.assert_array_equal(early.equity, full.equity)
    np.testing.assert_array_equal(early.actions, full.actions)


def test_hold_rate_and_decisions_do_not_depend_on_chunking(small):
    """A halt inside the first segment: chunked and continuous runs trade alike up to it and count alike."""
    from backtest.metrics import compute_metrics

    params, objectives, ds, features, market = small
    o = load_objectives(overrides=["auto_stop_drawdown=1"])
    chunked = run_backtest("rules", params, o, market, features)
    p = load_params(overrides=[*SMALL, f"backtest.chunk_size={market.n_bars}"])
    continuous = run_backtest("rules", p, o, market, features)
    assert chunked.halts == continuous.halts and chunked.halts[0] < params.backtest.chunk_size
    assert len(chunked.segments) > 1 == len(continuous.segments)
    a, b = compute_metrics(chunked), compute_metrics(continuous)
    assert (a["n_decisions"], a["hold_rate_pct"]) == (b["n_decisions"], b["hold_rate_pct"])
    assert a["n_decisions"] == chunked.halts[0]
