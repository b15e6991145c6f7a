"""Each reward term on hand-made simulator StepEvents."""

from __future__ import annotations

import pytest

from backtest.sim import StepEvent
from rl.config import RewardConfig
from rl.reward import VOL_FLOOR_PCT, RewardShaper

BAR_S = 60
OFF = {
    "trade_bonus": 0.0,
    "hold_penalty": 0.0,
    "hold_timeout_penalty": 0.0,
    "hold_timeout_seconds": 300,
    "streak_bonus": 0.0,
    "flip_flop_penalty": 0.0,
    "flip_flop_bars": 3,
    "vol_scaled": False,
    "scale": 100.0,
}


def cfg(**kw) -> RewardConfig:
    return RewardConfig(**{**OFF, **kw})


def ev(before=10_000.0, after=10_000.0, n_closed=0, n_wins=0, opened=0, side_before=0, side_after=0, held=0):
    return StepEvent(
        equity_before=before,
        equity_after=after,
        fees=0.0,
        funding=0.0,
        n_closed=n_closed,
        closed_pnl=after - before,
        n_wins=n_wins,
        opened=opened,
        side_before=side_before,
        side_after=side_after,
        bars_held=held,
        done=False,
    )


def test_pnl_term_is_percent_equity_change_times_scale():
    assert RewardShaper(cfg(), BAR_S)(ev(after=10_050.0)) == pytest.approx(0.5)
    assert RewardShaper(cfg(scale=10.0), BAR_S)(ev(after=9_900.0)) == pytest.approx(-0.1)
    assert RewardShaper(cfg(), BAR_S)(ev()) == 0.0


def test_vol_scaling_divides_by_volatility_with_a_floor():
    shaper = RewardShaper(cfg(vol_scaled=True), BAR_S)
    assert shaper(ev(after=10_050.0), vol_pct=0.25) == pytest.approx(2.0)
    assert shaper(ev(after=10_050.0), vol_pct=0.0) == pytest.approx(0.5 / VOL_FLOOR_PCT)


def test_trade_bonus_per_winning_close_only():
    shaper = RewardShaper(cfg(trade_bonus=0.3), BAR_S)
    assert shaper.terms(ev(n_closed=2, n_wins=2, side_before=1)).trade_bonus == pytest.approx(0.6)
    assert shaper.terms(ev(n_closed=1, n_wins=0, side_before=1)).trade_bonus == 0.0


def test_hold_penalty_only_while_a_position_is_open():
    shaper = RewardShaper(cfg(hold_penalty=0.01), BAR_S)
    assert shaper.terms(ev(side_before=1, side_after=1, held=3)).hold_penalty == pytest.approx(-0.01)
    assert shaper.terms(ev()).hold_penalty == 0.0


def test_hold_timeout_penalty_after_the_timeout():
    shaper = RewardShaper(cfg(hold_timeout_penalty=0.2, hold_timeout_seconds=300), BAR_S)
    assert shaper.terms(ev(side_after=-1, side_before=-1, held=5)).hold_timeout_penalty == 0.0  # 300 s: not past
    assert shaper.terms(ev(side_after=-1, side_before=-1, held=6)).hold_timeout_penalty == pytest.approx(-0.2)
    assert shaper.terms(ev(held=0)).hold_timeout_penalty == 0.0


def test_streak_bonus_grows_with_consecutive_wins_and_resets_on_a_loss():
    shaper = RewardShaper(cfg(streak_bonus=0.1), BAR_S)
    win = ev(n_closed=1, n_wins=1, side_before=1)
    assert shaper.terms(win).streak_bonus == pytest.approx(0.1)
    assert shaper.terms(win).streak_bonus == pytest.approx(0.2)
    assert shaper.terms(ev(n_closed=1, n_wins=0, side_before=1)).streak_bonus == 0.0
    assert shaper.terms(win).streak_bonus == pytest.approx(0.1)


def test_flip_flop_penalty_when_reopening_opposite_side_soon_after_a_close():
    shaper = RewardShaper(cfg(flip_flop_penalty=0.5, flip_flop_bars=3), BAR_S)
    shaper.terms(ev(n_closed=1, n_wins=0, side_before=1, side_after=0))  # long closed at bar 1
    assert shaper.terms(ev(opened=-1, side_before=0, side_after=-1)).flip_flop_penalty == pytest.approx(-0.5)

    late = RewardShaper(cfg(flip_flop_penalty=0.5, flip_flop_bars=3), BAR_S)
    late.terms(ev(n_closed=1, side_before=1))
    for _ in range(3):
        late.terms(ev())
    assert late.terms(ev(opened=-1, side_after=-1)).flip_flop_penalty == 0.0  # 4 bars later: not a flip

    same_side = RewardShaper(cfg(flip_flop_penalty=0.5), BAR_S)
    same_side.terms(ev(n_closed=1, side_before=1))
    assert same_side.terms(ev(opened=1, side_after=1)).flip_flop_penalty == 0.0


def test_zero_weights_leave_only_the_pnl_term():
    shaper = RewardShaper(cfg(), BAR_S)
    terms = shaper.terms(ev(after=10_010.0, n_closed=1, n_wins=1, side_before=1, side_after=-1, opened=-1, held=99))
    assert terms.total == pytest.approx(terms.pnl) == pytest.approx(0.1)
