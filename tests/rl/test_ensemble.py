"""Ensemble voting, tie-breaking and rules fallback, with fake member policies."""

from __future__ import annotations

import numpy as np
import pytest

from backtest.strategies.base import BUY, HOLD, SELL, SignalStrategy
from rl.ensemble import EnsembleStrategy, combine

T = 0.1  # confidence threshold


class FakeMember:
    """Returns scripted (action, margin) pairs per bar (bar index = first feature column); records observations."""

    def __init__(self, actions, margins, offset=0.0):
        self.actions = np.asarray(actions, dtype=np.int8)
        self.margins = np.asarray(margins, dtype=np.float32)
        self.offset = offset
        self.seen = []
        self.batch = None

    def prepare(self, close, raw):
        return np.c_[np.arange(len(raw)), raw + self.offset].astype(np.float32)

    def extend(self, close, row):
        raise NotImplementedError

    def reset(self, batch):
        self.batch = batch

    def act_with_margin(self, obs):
        self.seen.append(obs.copy())
        bars = obs[:, 0].astype(int)
        return self.actions[bars], self.margins[bars]


class CloseRules(SignalStrategy):
    """SELL above close 3, BUY otherwise."""

    def __init__(self):
        self.calls = []

    def signals(self, close, features):
        self.calls.append(np.array(close))
        return np.where(np.asarray(close) > 3, SELL, BUY).astype(np.int8)


def test_agreeing_confident_members_win():
    out = combine([[BUY, SELL]] * 2, [[0.5, 0.5], [0.2, 0.3]], T, fallback=[HOLD, HOLD])
    np.testing.assert_array_equal(out, [BUY, SELL])


def test_unconfident_members_abstain_and_all_abstaining_falls_back_to_rules():
    actions = [[BUY, BUY, SELL], [SELL, BUY, SELL]]
    margins = [[0.5, 0.01, 0.01], [0.05, 0.02, 0.0]]
    out = combine(actions, margins, T, fallback=[SELL, SELL, BUY])
    np.testing.assert_array_equal(out, [BUY, SELL, BUY])  # only PPO confident; none; none


def test_disagreement_ties_break_to_hold_or_to_the_more_confident():
    actions, margins = [[BUY], [SELL]], [[0.3], [0.9]]
    np.testing.assert_array_equal(combine(actions, margins, T, [BUY], tie_break="hold"), [HOLD])
    np.testing.assert_array_equal(combine(actions, margins, T, [BUY], tie_break="confident"), [SELL])
    with pytest.raises(ValueError):
        combine(actions, margins, T, [BUY], tie_break="coin")


def test_three_members_majority():
    out = combine([[BUY], [BUY], [SELL]], [[0.2], [0.2], [0.9]], T, [HOLD])
    np.testing.assert_array_equal(out, [BUY])


def test_each_member_sees_its_own_features_and_the_rules_see_the_real_closes():
    n, f = 6, 3
    raw = np.arange(n * f, dtype=np.float32).reshape(n, f)
    ppo = FakeMember([BUY] * n, [0.5, 0.5, 0.0, 0.0, 0.5, 0.0])
    dqn = FakeMember([BUY, SELL, SELL, HOLD, BUY, HOLD], [0.5, 0.5, 0.0, 0.0, 0.5, 0.0], offset=100.0)
    rules = CloseRules()
    ens = EnsembleStrategy([ppo, dqn], threshold=T, rules=rules, member_names=["ppo", "dqn"])
    close = np.arange(n, dtype=np.float64)
    prepared = ens.prepare(close, raw)
    assert prepared.shape == (n, 2 * (f + 1) + 1)
    ens.reset(2)
    assert ppo.batch == dqn.batch == 2
    position = np.array([[1, 0.1, 0.5, 0.0], [0, 0, 0, 0]], np.float32)
    got = []
    for t in range(0, n, 2):
        bars = np.array([t, t + 1])
        obs = np.concatenate([prepared[bars], position], axis=1)
        actions, detail = ens.act_explained(obs)
        got.extend(actions.tolist())
        np.testing.assert_array_equal(dqn.seen[-1][:, 1:], np.concatenate([raw[bars] + 100.0, position], axis=1))
        np.testing.assert_array_equal(ppo.seen[-1][:, 1:], np.concatenate([raw[bars], position], axis=1))
        assert set(detail) == {"fallback", "ppo_action", "ppo_margin", "dqn_action", "dqn_margin"}
    # bar 0 agree BUY; bar 1 tie -> HOLD; bars 2, 3 nobody confident -> rules (close 2 -> BUY, 3 -> BUY);
    # bar 4 agree BUY; bar 5 nobody confident -> rules (close 5 -> SELL)
    assert got == [BUY, HOLD, BUY, BUY, BUY, SELL]
    np.testing.assert_array_equal(rules.calls[0], close)


def test_act_before_prepare_is_a_clear_error():
    ens = EnsembleStrategy([FakeMember([BUY] * 3, [0.0] * 3)], threshold=1.0, rules=None)
    with pytest.raises(RuntimeError, match="prepare"):
        ens.act(np.zeros((1, 8), dtype=np.float32))
