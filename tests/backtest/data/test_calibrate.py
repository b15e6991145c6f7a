from __future__ import annotations

import pytest

from backtest.config import with_overrides
from backtest.data.calibrate import blend, calibrate
from backtest.data.schema import DataError
from backtest.data.synth import generate_bars


def test_calibration_recovers_volatility_and_activity_of_known_bars(params):
    truth = with_overrides(params, ["synth.annual_vol=0.6", "synth.base_volume=7.0", "synth.trades_per_bar=12"])
    est = calibrate(generate_bars(14 * 1440, truth.synth), 60)
    assert est["annual_vol"] == pytest.approx(0.6, rel=0.25)
    assert est["base_volume"] == pytest.approx(7.0, rel=0.01)
    assert est["trades_per_bar"] == pytest.approx(12, rel=0.1)
    assert 0 < est["intraday_amplitude"] < 0.9 and 0.5 <= est["vol_persistence"] <= 0.995


def test_blend_weight_zero_is_defaults_and_one_is_calibrated(params):
    est = {"annual_vol": 1.2, "base_volume": 3.0}
    assert blend(params.synth, est, 0.0) == params.synth
    one = blend(params.synth, est, 1.0)
    assert one.annual_vol == 1.2 and one.base_volume == 3.0 and one.seed == params.synth.seed
    half = blend(params.synth, est, 0.5)
    assert half.annual_vol == pytest.approx((1.2 + params.synth.annual_vol) / 2)


def test_calibration_needs_enough_bars(params):
    with pytest.raises(DataError, match="at least"):
        calibrate(generate_bars(10, params.synth), 60)
