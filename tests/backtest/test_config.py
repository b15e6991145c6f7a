"""Config loading: defaults validate, bad values fail at load naming who gave them, the key, the value and what is
allowed; the sections of rl and live are composed in through entry points and behave like built-in ones."""

from __future__ import annotations

import pickle

import pytest
import yaml

from backtest import config
from backtest.config import DEFAULT_PARAMS, ConfigError, load_objectives, load_params, params_from_dict, with_overrides
from backtest.sim import SimParams


def test_defaults_load_with_the_documented_values():
    p = load_params()
    assert p.trading.take_profit_pct == 0.5 and p.trading.stop_loss_pct == 0.25
    assert p.trading.position_size_pct == 0.4 and p.trading.max_hold_seconds == 60
    assert (p.trading.rsi_buy_below, p.trading.rsi_sell_above) == (38, 62)
    assert p.backtest.days == 180 and p.backtest.latency_ms == (5, 15) and p.backtest.chunk_size == 5000
    assert (p.rl.lstm_layers, p.rl.lstm_hidden, p.rl.learning_rate) == (2, 128, 3e-4)
    assert p.market.coin == "xyz:XYZ100" and p.live.journal_dir == "runs/live" and p.paper_exchange.port == 8089
    o = load_objectives()
    assert (o.monthly_return_min, o.sharpe_min, o.drawdown_max, o.auto_stop_drawdown) == (15, 1.5, 5, 4)
    assert o.status.critical_drawdown_pct == 5


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("trading.take_profit_pct=0", "trading.take_profit_pct = 0: allowed >= 0.001 and <= 1000"),
        ("trading.take_profit_pct=-1", "trading.take_profit_pct = -1: allowed >= 0.001 and <= 1000"),
        ("trading.stop_loss_pct=150", "trading.stop_loss_pct = 150: allowed >= 0.001 and < 100"),
        ("trading.position_size_pct=1.5", "trading.position_size_pct = 1.5: allowed >= 0.001 and <= 1"),
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
    assert str(exc.value).startswith(f"--set {override}: ")  # the command line is blamed, not configs/params.yaml


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("live.max_leverage=1e-7", "live.max_leverage = 1e-07: allowed >= 0.01 and <= 100"),  # 1e-7 is a number
        ("trading.leverage=0.001", "trading.leverage = 0.001: allowed >= 0.01 and <= 100"),
        ("live.max_order_notional=5", "live.max_order_notional = 5: allowed >= 10"),  # the venue's minimum order value
        ("live.paper_fund_usd=1", "live.paper_fund_usd = 1: allowed >= 10"),
        ("backtest.initial_equity=0.5", "backtest.initial_equity = 0.5: allowed >= 10"),
        ("live.order_timeout_s=0.01", "live.order_timeout_s = 0.01: allowed >= 0.1 and <= 120"),
        ("market.request_timeout_s=0", "market.request_timeout_s = 0: allowed >= 0.1 and <= 300"),
        ("live.size_multiplier=0", "live.size_multiplier = 0: allowed >= 0.01 and <= 10"),
        ("autopilot.size_down=0", "autopilot.size_down = 0: allowed >= 0.01 and < 1"),
        ("paper_exchange.port=70000", "paper_exchange.port = 70000: allowed >= 0 and <= 65535"),
    ],
)
def test_sizes_leverage_notionals_and_timeouts_have_sensible_minimums(override, message):
    with pytest.raises(ConfigError) as exc:
        load_params(overrides=[override])
    assert str(exc.value) == f"--set {override}: {message}"


def test_a_bad_value_in_the_file_names_the_file_and_one_from_set_names_the_set(tmp_path):
    data = yaml.safe_load(DEFAULT_PARAMS.read_text())
    data["live"]["max_leverage"] = 0
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as exc:
        load_params(path, ["trading.stop_loss_pct=150"])
    head, *lines = [line.strip() for line in str(exc.value).splitlines()]
    assert head == "invalid configuration"
    assert f"{path}: live.max_leverage = 0: allowed >= 0.01 and <= 100" in lines
    assert "--set trading.stop_loss_pct=150: trading.stop_loss_pct = 150: allowed >= 0.001 and < 100" in lines
    # an override that fixes the file's value is not blamed; the file is no longer wrong
    assert load_params(path, ["live.max_leverage=2"]).live.max_leverage == 2


def test_a_dedicated_flag_is_named_as_the_user_typed_it():
    with pytest.raises(ConfigError, match=r"^--days -3: backtest.days = -3: allowed >= 0.01 and <= 3650$"):
        load_params(overrides=[config.Override.flag("--days", "backtest.days", -3)])


def test_unknown_key_in_the_file_is_refused_with_the_closest_known_key(tmp_path):
    data = yaml.safe_load(DEFAULT_PARAMS.read_text())
    data["trading"]["take_profit"] = 0.3
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(
        ConfigError, match=r"trading.take_profit: unknown key \(value 0.3\); did you mean take_profit_pct"
    ):
        load_params(path)


def test_unknown_override_key_is_refused_naming_the_set():
    with pytest.raises(ConfigError, match=r"^--set trading.tp=0.3: unknown key trading\.tp; known: "):
        load_params(overrides=["trading.tp=0.3"])
    with pytest.raises(ConfigError, match=r"^--set live.max_levrage=2: unknown key live.max_levrage; did you mean"):
        load_params(overrides=["live.max_levrage=2"])


def test_an_unknown_section_names_the_entry_point_group(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("pager: {email: me@example.com}\n")
    with pytest.raises(ConfigError, match=r"pager: unknown section; known: market, .*group aml100.config"):
        load_params(path)


def test_a_section_whose_package_is_not_registered_is_refused_naming_the_entry_point_group(monkeypatch):
    real = config.compose.entry_points
    monkeypatch.setattr(config.compose, "entry_points", lambda group: [e for e in real(group=group) if e.name != "rl"])
    config.params_model.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"rl: unknown section; .*entry-point group aml100.config"):
            load_params()
        assert "rl" not in config.params_model().model_fields
    finally:
        config.params_model.cache_clear()


def test_an_entry_point_that_cannot_be_loaded_is_named(monkeypatch):
    from importlib.metadata import EntryPoint

    broken = EntryPoint("alerts", "live.no_such_module:AlertsConfig", "aml100.config")
    real = config.compose.entry_points
    monkeypatch.setattr(config.compose, "entry_points", lambda group: [*real(group=group), broken])
    config.params_model.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"entry point alerts = 'live.no_such_module:AlertsConfig'.*cannot be"):
            load_params()
    finally:
        config.params_model.cache_clear()


def test_params_from_before_a_section_existed_load_with_its_defaults():
    old = load_params().model_dump(mode="json")
    for section in ("live", "autopilot", "dashboard", "cluster", "paper_exchange"):
        del old[section]
    del old["rl"]["reward"]
    p = params_from_dict(old, "checkpoint metadata")
    assert p.live.max_leverage == 5 and p.rl.reward.scale == 100 and p.cluster.storage == ""
    assert p == load_params()


def test_an_override_may_name_a_key_the_file_leaves_to_its_default(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("trading:\n  take_profit_pct: 0.7\n")
    p = load_params(path, ["live.max_leverage=3"])
    assert p.trading.take_profit_pct == 0.7 and p.live.max_leverage == 3 and p.trading.stop_loss_pct == 0.25


def test_the_composed_params_are_frozen_dump_and_pickle_by_reference():
    p = load_params()
    with pytest.raises(Exception, match="frozen"):
        p.live.max_leverage = 3
    assert type(p).__module__ == "backtest.config" and type(p) is config.LoadedParams
    assert pickle.loads(pickle.dumps(p)) == p
    assert b"LoadedParams" in pickle.dumps(p) and len(pickle.dumps(p)) < 20_000  # the class by name, not by value
    assert params_from_dict(p.model_dump(mode="json")) == p
    o = load_objectives()
    assert pickle.loads(pickle.dumps(o)) == o and type(o) is config.LoadedObjectives


def test_composed_params_reach_a_ray_worker_and_come_back(ray_session):
    ray = ray_session
    p = with_overrides(load_params(), ["live.max_leverage=3", "rl.lstm_hidden=16"])

    @ray.remote
    def inspect(params):
        return type(params).__name__, params.live.max_leverage, params.rl.lstm_hidden, params

    name, lev, hidden, back = ray.get(inspect.remote(ray.put(p)))
    assert (name, lev, hidden) == ("LoadedParams", 3, 16) and back == p


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


def test_objectives_overrides_from_the_command_line_name_the_set():
    import argparse

    from backtest.cli import add_config_args, load_configs

    ap = argparse.ArgumentParser()
    add_config_args(ap)
    args = ap.parse_args(["--set", "objectives.drawdown_max=0", "--set", "objectives.status.poor_sharpe_below=0.5"])
    with pytest.raises(ConfigError, match=r"^--set objectives.drawdown_max=0: drawdown_max = 0: allowed > 0 and <="):
        load_configs(args)
    args.overrides = args.overrides[1:]
    assert load_configs(args)[1].status.poor_sharpe_below == 0.5


def test_config_path_that_is_a_directory_or_a_binary_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        load_params(tmp_path)
    binary = tmp_path / "params.bin"
    binary.write_bytes(b"\x00\x01\xfe\xff" * 64)
    with pytest.raises(ConfigError, match="not a text"):
        load_params(binary)
    with pytest.raises(ConfigError, match="is a directory"):
        load_objectives(tmp_path)


def test_execution_section_defaults_to_market_and_validates_styles_and_ranges():
    p = load_params()
    assert (p.execution.entry, p.execution.exit, p.execution.take_profit) == ("market", "market", "market")
    assert load_params(overrides=["execution.entry=maker"]).execution.any_maker
    with pytest.raises(ConfigError, match=r"execution.entry = 'limit': allowed"):
        load_params(overrides=["execution.entry=limit"])
    with pytest.raises(ConfigError, match=r"execution.entry_ttl_bars = 0: allowed >= 1"):
        load_params(overrides=["execution.entry_ttl_bars=0"])
    with pytest.raises(ConfigError, match=r"execution.touch_fill_prob = 1.5: allowed >= 0 and <= 1"):
        load_params(overrides=["execution.touch_fill_prob=1.5"])


def test_the_old_take_profit_fill_key_still_loads_as_execution_take_profit_and_conflicts_are_refused():
    data = load_params().model_dump(mode="json")
    del data["execution"]
    data["backtest"]["take_profit_fill"] = "limit"
    assert params_from_dict(data).execution.take_profit == "maker"  # e.g. a checkpoint's stored params
    data["execution"] = {"take_profit": "market"}
    with pytest.raises(ConfigError, match=r"contradicts execution\.take_profit"):
        params_from_dict(data)
    with pytest.raises(ConfigError, match=r"moved to execution\.take_profit"):
        load_params(overrides=["backtest.take_profit_fill=limit"])
