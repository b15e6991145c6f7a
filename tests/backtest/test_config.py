"""Config loading: defaults validate, bad values fail at load naming the key, the value and what is allowed."""

from __future__ import annotations

import pytest
import yaml

from backtest.config import DEFAULT_PARAMS, ConfigError, load_objectives, load_params, with_overrides
from backtest.sim import SimParams


def test_defaults_load_with_the_documented_values():
    p = load_params()
    assert p.trading.take_profit_pct == 0.5 and p.trading.stop_loss_pct == 0.25
    assert p.trading.position_size_pct == 0.4 and p.trading.max_hold_seconds == 60
    assert (p.trading.rsi_buy_below, p.trading.rsi_sell_above) == (38, 62)
    assert p.backtest.days == 180 and p.backtest.latency_ms == (5, 15) and p.backtest.chunk_size == 5000
    assert (p.rl.lstm_layers, p.rl.lstm_hidden, p.rl.learning_rate) == (2, 128, 1e-4)
    assert p.market.coin == "xyz:XYZ100"
    o = load_objectives()
    assert (o.monthly_return_min, o.sharpe_min, o.drawdown_max, o.auto_stop_drawdown) == (15, 1.5, 5, 4)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("trading.take_profit_pct=0", "trading.take_profit_pct = 0: allowed > 0"),
        ("trading.take_profit_pct=-1", "trading.take_profit_pct = -1: allowed > 0"),
        ("trading.stop_loss_pct=150", "trading.stop_loss_pct = 150: allowed < 100"),
        ("trading.position_size_pct=1.5", "trading.position_size_pct = 1.5: allowed <= 1"),
        ("trading.both_touched=maybe", "trading.both_touched = 'maybe': allowed 'stop' or 'take_profit'"),
        ("backtest.latency_ms=[20, 5]", "latency_ms must be [low, high]"),
        ("trading.rsi_buy_below=70", "rsi_buy_below (70.0) must be below rsi_sell_above"),
        ("rl.algo=a2c", "rl.algo = 'a2c': allowed 'ppo', 'dqn' or 'ensemble'"),
        ("backtest.days=abc", "backtest.days = 'abc'"),
    ],
)
def test_bad_values_fail_at_load_naming_key_value_and_allowed_range(override, expected):
    with pytest.raises(ConfigError) as exc:
        load_params(overrides=[override])
    assert expected in str(exc.value)


def test_unknown_key_in_the_file_is_refused(tmp_path):
    data = yaml.safe_load(DEFAULT_PARAMS.read_text())
    data["trading"]["take_profit"] = 0.3
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=r"trading.take_profit: unknown key"):
        load_params(path)


def test_unknown_override_key_is_refused():
    with pytest.raises(ConfigError, match=r"unknown key trading\.tp"):
        load_params(overrides=["trading.tp=0.3"])


def test_missing_file_and_bad_yaml_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_params(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("trading: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(bad)


def test_overrides_reach_the_simulator_in_kernel_units():
    p = with_overrides(load_params(), ["trading.take_profit_pct=0.3", "backtest.slippage_pct=0.02"])
    sp = SimParams.from_config(p, load_objectives(overrides=["auto_stop_drawdown=3"]))
    assert sp.tp_frac == pytest.approx(0.003) and sp.slip_frac == pytest.approx(0.0002)
    assert sp.auto_stop_frac == pytest.approx(0.03)
    assert sp.hold_bars == 1  # 60 s on 1-minute bars


def test_config_path_that_is_a_directory_or_a_binary_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        load_params(tmp_path)
    binary = tmp_path / "params.bin"
    binary.write_bytes(b"\x00\x01\xfe\xff" * 64)
    with pytest.raises(ConfigError, match="not a text"):
        load_params(binary)
    with pytest.raises(ConfigError, match="is a directory"):
        load_objectives(tmp_path)
