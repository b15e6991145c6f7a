"""Fast inference (numpy weights, compiled kernels): same actions as the RLlib module step by step; every row is
bit-identical whatever the batch it runs in; checkpoints load without torch or RLlib."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns

from rl.inference import FastPolicy, PolicyNet
from rl.modules import LSTMActorCriticModule, LSTMDuelingQModule
from tests.support.rl_modules import CONFIG, D, make

STEPS, B = 300, 3


def rllib_step_by_step(module, obs):
    """Actions and head outputs from RLlib's forward_inference, one step at a time with the state carried."""
    state = {k: torch.from_numpy(v)[None].repeat(obs.shape[0], 1, 1) for k, v in module.get_initial_state().items()}
    actions, heads = [], []
    for t in range(obs.shape[1]):
        with torch.inference_mode():
            out = module.forward_inference({Columns.OBS: torch.from_numpy(obs[:, t : t + 1]), Columns.STATE_IN: state})
        state = out[Columns.STATE_OUT]
        if Columns.ACTION_DIST_INPUTS in out:
            logits = out[Columns.ACTION_DIST_INPUTS][:, 0]
            heads.append(logits.numpy())
            actions.append(logits.argmax(-1).numpy())
        else:
            actions.append(out[Columns.ACTIONS][:, 0].numpy())
    return np.stack(actions, 1), (np.stack(heads, 1) if heads else None)


@pytest.mark.parametrize("cls", [LSTMActorCriticModule, LSTMDuelingQModule])
def test_fast_path_matches_the_rllib_module_step_by_step(cls):
    module = make(cls)
    obs = np.random.default_rng(1).normal(size=(B, STEPS, D)).astype(np.float32)
    want_actions, want_logits = rllib_step_by_step(module, obs)
    fast = FastPolicy(module, 0.0)
    fast.reset(B)
    got = [fast.scores(obs[:, t]) for t in range(STEPS)]
    got_actions = np.stack([fast.decide(s)[0] for s in got], 1)
    np.testing.assert_array_equal(got_actions, want_actions)
    assert len(np.unique(want_actions)) > 1  # a constant policy would make the comparison vacuous
    if want_logits is not None:
        np.testing.assert_allclose(np.stack(got, 1), want_logits, atol=1e-5)


@pytest.mark.parametrize("cls", [LSTMActorCriticModule, LSTMDuelingQModule])
def test_a_row_is_bit_identical_whatever_batch_it_runs_in(cls):
    """Live (a batch of one), lockstep batches of any size and sequence calls give the very same numbers."""
    module = make(cls, seed=3)
    batch = 40  # more than one chunk of rows (netkernel.CHUNK_ROWS)
    obs = np.random.default_rng(2).normal(size=(batch, 60, D)).astype(np.float32)
    fast = FastPolicy(module, 0.0)
    fast.reset(batch)
    lockstep = np.stack([fast.scores(obs[:, t]) for t in range(obs.shape[1])], 1)
    for b in (0, 1, 17, batch - 1):
        fast.reset(1)
        alone = np.concatenate([fast.scores(obs[b : b + 1, t : t + 20]) for t in range(0, obs.shape[1], 20)], 1)
        np.testing.assert_array_equal(alone[0], lockstep[b])
    fast.reset(3)
    three = np.stack([fast.scores(obs[[5, 6, 7], t]) for t in range(obs.shape[1])], 1)
    np.testing.assert_array_equal(three, lockstep[[5, 6, 7]])


def test_weights_read_from_the_module_state_equal_the_modules_own():
    module = make(LSTMDuelingQModule, seed=5)
    state = {k: v.detach().numpy() for k, v in module.state_dict().items()}
    a, b = PolicyNet.from_state_dict(state), PolicyNet.from_module(module)
    assert a.kind == b.kind == "dqn" and a.value is not None and len(a.lstm) == CONFIG["lstm_layers"]
    for (wa, ba), (wb, bb) in zip(a.encoder, b.encoder):
        np.testing.assert_array_equal(wa, wb)
        np.testing.assert_array_equal(ba, bb)


def test_margins_and_min_q_diff():
    fast = FastPolicy(make(LSTMDuelingQModule), min_q_diff=0.5)
    q = np.array([[0.0, 0.4, 0.1], [0.0, 0.9, 0.2], [1.0, 0.2, 0.3]], np.float32)
    actions, margins = fast.decide(q)
    np.testing.assert_array_equal(actions, [0, 1, 0])  # BUY by 0.4 < 0.5 over HOLD -> HOLD
    np.testing.assert_allclose(margins, [0.3, 0.7, 0.7], atol=1e-6)
    ppo = FastPolicy(make(LSTMActorCriticModule), 0.0)
    _, gap = ppo.decide(np.log(np.array([[0.5, 0.3, 0.2]], np.float32)))
    np.testing.assert_allclose(gap, [0.2], atol=1e-6)


def test_building_a_module_logs_no_rlmodule_config_notice(caplog):
    """RLlib's own RLModule.__init__ logs a `RLModule(config=...)` deprecation notice; rl.modules filters it out."""
    import logging

    with caplog.at_level(logging.WARNING, logger="ray._common.deprecation"):
        make(LSTMActorCriticModule)
    assert "RLModule(config=" not in caplog.text
