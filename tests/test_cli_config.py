"""Every command that takes `--set` blames a bad value on the `--set` that gave it, not on configs/params.yaml."""

from __future__ import annotations

import importlib

import pytest

from backtest.config import ConfigError

BAD = "live.max_leverage=1e-7"
EXPECTED = f"--set {BAD}: live.max_leverage = 1e-07: allowed >= 0.01 and <= 100"

COMMANDS = [
    ("backtest.__main__", []),
    ("backtest.data.__main__", ["inspect"]),
    ("rl.train", []),
    ("rl.tune", []),
    ("live.serve", ["status"]),
    ("live.autopilot.__main__", ["--once"]),
    ("live.dashboard.__main__", ["--check"]),
    ("live.monitor", ["--once"]),
    ("live.replay", []),
    ("live.rehearsal", []),
    ("live.paper_exchange.__main__", []),
]


@pytest.mark.parametrize(("module", "argv"), COMMANDS, ids=[m for m, _ in COMMANDS])
def test_a_bad_set_value_is_blamed_on_the_set_in_every_command(module, argv, capsys):
    main = importlib.import_module(module).main
    try:
        code = main([*argv, "--set", BAD])
    except ConfigError as exc:  # what run_main prints as `error: <message>`, exit 2
        assert str(exc) == EXPECTED
        return
    assert code == 2  # the commands that print their own one-line error
    assert EXPECTED in capsys.readouterr().err
