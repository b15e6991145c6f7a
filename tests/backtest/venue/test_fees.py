"""The fee schedule is a venue fact: HIP-3 multiple, growth mode, an account's own rates, cached with the data."""

from __future__ import annotations

import json

import pytest

from backtest.config import load_objectives, load_params
from backtest.sim import SimParams
from backtest.venue.fees import (
    BASE_TIERS,
    FeeSchedule,
    MarketFees,
    cache_path,
    default_schedule,
    hip3_multiple,
    load_cache,
    market_fees_from_venue,
    resolve_fees,
    save_cache,
    schedule_from_venue,
    tier_for,
)

XYZ = "xyz:XYZ100"
PERP_DEXS = [None, {"name": "xyz", "fullName": "XYZ", "deployer": "0x" + "88" * 20, "deployerFeeScale": "1.0"}]
META = {"universe": [{"name": XYZ, "szDecimals": 4, "maxLeverage": 20}]}
USER_FEES = {"userCrossRate": "0.0004", "userAddRate": "0.00012", "dailyUserVlm": [], "feeSchedule": {}}


def test_xyz100_defaults_to_the_standard_hip3_schedule_twice_the_base_tier():
    s = default_schedule(XYZ)
    assert (s.taker, s.maker) == pytest.approx((0.0009, 0.0003))
    assert s.source == "default HIP-3 schedule" and s.tier == 0 and s.market.hip3
    assert s.label() == (
        "taker 0.0900 % / maker 0.0300 % (xyz:XYZ100, HIP-3 standard 2x, base tier 0; default HIP-3 schedule)"
    )
    btc = default_schedule("BTC")
    assert (btc.taker, btc.maker) == pytest.approx((0.00045, 0.00015)) and not btc.market.hip3


def test_the_hip3_multiple_follows_the_deployer_fee_scale_and_growth_mode_cuts_ninety_percent():
    assert [hip3_multiple(s) for s in (0.0, 0.5, 1.0, 2.0, 3.0)] == [1.0, 1.5, 2.0, 4.0, 6.0]
    growth = MarketFees(XYZ, hip3=True, growth_mode=True)
    assert growth.rates(0.00045, 0.00015) == pytest.approx((0.00009, 0.00003))
    assert MarketFees(XYZ, hip3=True).rates(0.00045, -0.00002) == pytest.approx((0.0009, -0.00002))  # rebate kept
    with pytest.raises(ValueError):
        hip3_multiple(-0.1)


def test_tiers_follow_the_14_day_volume():
    assert tier_for(0).tier == 0 and tier_for(5e6).tier == 0 and tier_for(5e6 + 1).tier == 1
    assert tier_for(1e12).tier == 6 and [t.tier for t in BASE_TIERS] == list(range(7))


def test_the_venue_answers_are_read_dex_scale_growth_mode_and_the_accounts_rates():
    m = market_fees_from_venue(XYZ, PERP_DEXS, {"universe": [{"name": XYZ, "growthMode": "enabled"}]})
    assert m.hip3 and m.growth_mode and m.deployer_fee_scale == 1.0
    assert market_fees_from_venue(XYZ, [None, {"name": "xyz"}], META).deployer_fee_scale == 1.0  # absent: standard
    s = schedule_from_venue(XYZ, PERP_DEXS, META, USER_FEES, as_of="2026-12-03", url="http://127.0.0.1:1")
    assert (s.taker, s.maker) == pytest.approx((0.0008, 0.00024))
    assert s.source == "venue userFees 2026-12-03" and s.tier is None
    base = schedule_from_venue(XYZ, PERP_DEXS, META, None, as_of="2026-12-03")
    assert base.source == "venue meta/perpDexs 2026-12-03" and base.taker == pytest.approx(0.0009)
    with pytest.raises(ValueError, match="userCrossRate"):
        schedule_from_venue(XYZ, PERP_DEXS, META, {"userCrossRate": None, "userAddRate": "0"})


def test_resolution_prefers_a_params_override_then_the_cache_then_the_default(tmp_path):
    params = load_params(overrides=[f"backtest.data_dir={tmp_path}"])
    assert resolve_fees(params).source == "default HIP-3 schedule"
    venue = schedule_from_venue(XYZ, PERP_DEXS, META, USER_FEES, as_of="2026-12-03")
    path = save_cache(tmp_path, venue, {"userFees": USER_FEES})
    assert path == cache_path(tmp_path, XYZ) and json.loads(path.read_text())["raw"]["userFees"] == USER_FEES
    assert load_cache(tmp_path, XYZ) == venue and resolve_fees(params) == venue
    one = resolve_fees(load_params(overrides=[f"backtest.data_dir={tmp_path}", "backtest.commission_pct=0.05"]))
    assert one.taker == pytest.approx(0.0005) and one.maker == pytest.approx(0.00024)
    assert one.source == "params override (backtest.commission_pct); maker from venue userFees 2026-12-03"
    recorded = default_schedule(XYZ).to_dict()  # what a dataset's provenance carries wins over the local cache
    assert resolve_fees(params, recorded=recorded).source == "default HIP-3 schedule"


def test_a_damaged_cache_is_an_error_naming_the_file(tmp_path):
    path = cache_path(tmp_path, XYZ)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not a fee schedule cache"):
        load_cache(tmp_path, XYZ)


def test_the_simulator_charges_the_resolved_schedule(tmp_path):
    params = load_params(overrides=[f"backtest.data_dir={tmp_path}"])
    sp = SimParams.from_config(params, load_objectives())
    assert (sp.taker_frac, sp.maker_frac) == pytest.approx((0.0009, 0.0003))
    over = load_params(overrides=["backtest.commission_pct=0.01", "backtest.maker_commission_pct=0.0"])
    sp = SimParams.from_config(over, load_objectives())
    assert (sp.taker_frac, sp.maker_frac) == (0.0001, 0.0)
    assert FeeSchedule.from_dict(default_schedule(XYZ).to_dict()) == default_schedule(XYZ)
