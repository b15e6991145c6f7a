"""rl.tune end to end on tiny spans: an execution sweep writes valid outputs, resume finishes without redoing trials,
the learning trainable reports a validation score per iteration, the search space is validated with key names."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from backtest.config import ConfigError, load_params
from rl import tune as tune_cli
from rl.registry import Registry
from rl.tuning.space import apply_config, load_space, to_overrides

TINY_SPACE = {
    "score": {"folds": 2, "spread_penalty": 0.5, "no_trade_score": -10.0},
    "asha": {"grace_period": 1, "reduction_factor": 2},
    "learning": {"algo": "ppo", "iterations": 1, "iter_steps": 64},
    "params": {
        "trading.take_profit_pct": {"type": "loguniform", "low": 0.1, "high": 1.0, "level": "execution"},
        "trading.stop_loss_pct": {"type": "uniform", "low": 0.05, "high": 0.5, "level": "execution"},
        "rl.learning_rate": {"type": "loguniform", "low": 1e-5, "high": 1e-3, "level": "learning"},
        "rl.reward.hold_penalty": {"type": "uniform", "low": 0.0, "high": 0.01, "level": "learning"},
    },
}


@pytest.fixture(scope="module")
def space_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("space") / "space.yaml"
    path.write_text(yaml.safe_dump(TINY_SPACE))
    return path


def _args(tmp: Path, space: Path, name: str, *extra: str) -> list[str]:
    return [
        "--trials", "3", "--level", "execution", "--data", "synthetic", "--days", "2", "--space", str(space),
        "--storage", str(tmp / "tune"), "--registry", str(tmp / "registry"), "--name", name, *extra,
    ]  # fmt: skip


def _trial_dirs(path: Path) -> set[str]:
    return {p.name for p in path.iterdir() if p.is_dir()}


def test_execution_sweep_then_resume(ray_session, tmp_path, space_file, capsys):
    assert tune_cli.main(_args(tmp_path, space_file, "s1")) == 0
    out = tmp_path / "tune" / "s1"
    best = load_params(out / "best_params.yaml")  # a full, valid params file
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 3 and trials["score"].notna().all()
    winner = trials.loc[trials["score"].idxmax()]
    assert best.trading.take_profit_pct == pytest.approx(winner["config/trading.take_profit_pct"])
    assert best.trading.stop_loss_pct == pytest.approx(winner["config/trading.stop_loss_pct"])
    report = (out / "report.html").read_text()
    assert "Deflated Sharpe" in report and "Spearman" in report and "test_report/report.html" in report
    assert (out / "test_report" / "report.html").is_file()
    summary = json.loads((out / "summary.json").read_text())
    dsr = summary["levels"][0]["dsr"]
    assert dsr["n_trials"] == 3 and 0.0 <= dsr["dsr"] <= 1.0
    entry = Registry(tmp_path / "registry").get(summary["registry_id"])
    assert entry["status"] == "candidate" and entry["kind"] == "rules-params" and entry["gate"] is not None
    assert entry["test"]["n_trades"] == summary["test"]["n_trades"]
    printed = capsys.readouterr().out
    assert "gate (paper/backtest)" in printed and "registered" in printed

    before = _trial_dirs(out / "execution")
    assert tune_cli.main(_args(tmp_path, space_file, "s1", "--resume")) == 0
    assert "resuming" in capsys.readouterr().out
    assert _trial_dirs(out / "execution") == before  # no trial redone or added
    assert len(pd.read_csv(out / "trials.csv")) == 3


def test_learning_trainable_reports_validation_score_from_the_drivers_bars(ray_session, space_file, monkeypatch):
    """The trial (and the envs it builds) train on the bars the driver sent: the data store is never read."""
    from backtest.data.load import load_dataset
    from rl.tuning import learning_sweep

    reports = []

    def fake_report(metrics, checkpoint=None):
        reports.append((metrics, checkpoint is not None))

    monkeypatch.setattr("ray.tune.report", fake_report)
    params = load_params(overrides=["backtest.days=2", "rl.batch_size=2", "rl.max_seq_len=8", "rl.lstm_hidden=16"])
    dataset = load_dataset(params, "synthetic", 2)

    def no_disk(*args, **kwargs):
        raise AssertionError("a learning trial loaded the data itself")

    monkeypatch.setattr("backtest.data.load.load_dataset", no_disk)
    learning_sweep.learning_trainable(
        {"rl.learning_rate": 3e-4, "rl.reward.hold_penalty": 0.001},
        base=params, source="synthetic", days=2, keys=["rl.learning_rate", "rl.reward.hold_penalty"], algo="ppo",
        iterations=1, iter_steps=64, folds=2, penalty=0.5, no_trade=-10.0, dataset=dataset,
    )  # fmt: skip
    assert len(reports) == 1
    metrics, saved = reports[0]
    assert saved  # the first iteration is the best so far: a checkpoint comes with it
    assert {"score", "sr_bar", "n_trades", "mean_sharpe", "node"} <= set(metrics)


def test_space_validation_names_the_key(tmp_path):
    params = load_params()
    bad = {
        **TINY_SPACE,
        "params": {"trading.take_profit": {"type": "uniform", "low": 0.1, "high": 1, "level": "execution"}},
    }
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(ConfigError, match=r"trading\.take_profit"):
        load_space(path, params)
    bad["params"] = {"trading.stop_loss_pct": {"type": "uniform", "low": 0.1, "high": 150, "level": "execution"}}
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(ConfigError, match="stop_loss_pct"):
        load_space(path, params)
    bad["params"] = {"trading.stop_loss_pct": {"type": "normal", "low": 0.1, "high": 1, "level": "execution"}}
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(ConfigError, match="stop_loss_pct"):
        load_space(path, params)
    execution = load_space(params=params).dimensions("execution")
    assert set(execution) >= {"trading.take_profit_pct", "execution.entry", "execution.entry_ttl_bars"}
    assert apply_config(params, {"execution.entry": "maker"}, ["execution.entry"]).execution.entry == "maker"
    assert to_overrides({"a.b": 0.5, "c.d": [1, 2]}) == ["a.b=0.5", "c.d=[1, 2]"]


class FakeResult:
    """What `collect` reads from a Tune result: every report of the trial, its last one, its config."""

    def __init__(self, trial_id: str, lr: float, reports: list[tuple[float, float]]) -> None:
        history = [{"score": s, "sr_bar": sr, "training_iteration": i + 1} for i, (s, sr) in enumerate(reports)]
        self.metrics_dataframe = pd.DataFrame(history)
        self.metrics = {**history[-1], "trial_id": trial_id}
        self.config = {"rl.learning_rate": lr}
        self.checkpoint = None

    def get_best_checkpoint(self, metric, mode):
        return None


def test_learning_trials_rank_by_the_iteration_that_is_used_and_every_iteration_counts_as_a_candidate():
    from rl.tuning.sweep import collect

    a = FakeResult("a", 1e-4, [(5.0, 0.02), (1.0, 0.001)])  # best iteration first: its checkpoint is kept
    b = FakeResult("b", 3e-4, [(2.0, 0.005), (3.0, 0.01)])
    learning = collect([a, b], "learning", Path("sweep"), max_t=2)
    assert learning.best_config == a.config and learning.best_score == 5.0
    assert learning.trials.set_index("trial_id").loc["a", "best_iteration"] == 1
    assert sorted(learning.candidates) == [0.001, 0.005, 0.01, 0.02]  # 2 trials x 2 iterations chosen among
    execution = collect([a, b], "execution", Path("sweep"), max_t=2)  # a fold report is no separate candidate
    assert execution.best_config == b.config and execution.best_score == 3.0
    assert sorted(execution.candidates) == [0.001, 0.01]
