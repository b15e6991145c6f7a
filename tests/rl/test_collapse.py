"""The collapse warning: on hand-made iteration stats, and in a real (tiny) training built to collapse."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backtest.sim import BUY, HOLD, SELL
from rl.collapse import CollapseMonitor, IterationStats, changed_share

from .conftest import TINY


def _stats(it, actions, entropy=None, kl=None):
    return IterationStats(it, np.asarray(actions, dtype=np.int8), entropy, kl)


def test_changed_share_counts_decisions_taken_in_both_iterations():
    assert changed_share(None, np.array([0, 1])) is None
    assert changed_share(np.array([0, 1, 2, -1]), np.array([0, 2, 2, 1])) == pytest.approx(1 / 3)


def test_a_frozen_policy_always_in_a_position_warns_after_the_window_with_the_numbers_and_advice():
    mon = CollapseMonitor("ppo", window=3)
    same = [BUY] * 50 + [-1]
    warnings = [mon.observe(_stats(i, same, entropy=1.0986, kl=1e-7)) for i in range(1, 5)]
    assert warnings[:2] == [None, None]
    assert "always BUY" in warnings[2]  # 3 iterations in a row; "frozen" needs a previous iteration to compare
    fired = " ".join(w for w in warnings if w)
    assert "always BUY" in fired and "frozen" in fired
    assert "BUY 100%" in fired and "0.0% changed" in fired and "entropy 1.099" in fired
    assert "rl.learning_rate" in fired
    assert mon.observe(_stats(5, same, entropy=1.0986, kl=1e-7)) is None  # said once, not every iteration


def test_always_hold_on_a_random_walk_says_holding_is_right_there():
    mon = CollapseMonitor("dqn", window=2, edge_hint="random walk")
    hold = [HOLD] * 100
    assert mon.observe(_stats(1, hold)) is None
    text = mon.observe(_stats(2, hold))
    assert text is not None and "always HOLD" in text and "synth.edge.enabled=false" in text
    assert "rl.epsilon.decay_steps" in text
    assert mon.observe(_stats(3, hold)) is None  # unchanged decisions add nothing to "always HOLD" for DQN
    assert mon.collapsed == ["always HOLD"]


def test_a_learning_policy_never_warns():
    rng = np.random.default_rng(0)
    mon = CollapseMonitor("ppo", window=2)
    for it in range(1, 10):
        actions = rng.choice([HOLD, BUY, SELL], size=200, p=[0.8, 0.1, 0.1])
        assert mon.observe(_stats(it, actions, entropy=0.9, kl=0.01)) is None
    assert mon.collapsed == []


def test_entropy_collapse_is_named():
    mon = CollapseMonitor("ppo", window=1)
    text = mon.observe(_stats(1, [HOLD, BUY, SELL] * 10, entropy=0.01, kl=0.02))
    assert text is not None and "entropy" in text and "rl.ppo.entropy" in text


def test_a_training_built_to_collapse_says_so_in_its_log(ray_session, tmp_path):
    """PPO with a learning rate of 1e-12: the policy cannot move, and the log says so (tiny model, 4 iterations)."""
    from backtest.config import load_params
    from rl.train import SUMMARY_FILE, train_one

    params = load_params(overrides=[*TINY, "rl.learning_rate=1e-12", "rl.epochs=4"])
    lines: list[str] = []
    best = train_one("ppo", params, 10**9, "synthetic", 3.0, tmp_path, seed=3, iter_steps=128, log=lines.append)
    text = "\n".join(lines)
    assert "COLLAPSE" in text and "frozen" in text, text
    assert "Try:" in text and "rl.learning_rate" in text
    summary = json.loads((best.parent / SUMMARY_FILE).read_text())
    assert "frozen" in summary["collapses"] and summary["iterations"] == 4
