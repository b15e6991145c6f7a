"""`python -m live.rehearsal` at the door: bad counts and unknown strategies get one line and exit 2, never a
traceback, and nothing is left running."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from live.rehearsal import main

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("flag", "value"), [("--bars", "0"), ("--bars", "-5"), ("--bars", "x"), ("--history", "1")])
def test_bars_and_history_below_two_are_refused_naming_the_flag(flag, value, capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        main([flag, value, "--set", f"live.journal_dir={tmp_path}"])
    assert info.value.code == 2
    assert f"{flag} expects a whole number >= 2" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing started, nothing written


def test_an_unknown_strategy_and_a_bad_set_are_one_line_errors_from_the_command(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cases = [
        (["--strategy", "nonsense", "--bars", "3"], "error: unknown strategy 'nonsense'"),
        (["--set", "live.max_leverage=1e-7"], "error: --set live.max_leverage=1e-7: live.max_leverage"),
    ]
    for args, says in cases:
        out = subprocess.run([sys.executable, "-m", "live.rehearsal", *args, "--set", f"live.journal_dir={tmp_path}"],
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
        assert out.returncode == 2 and out.stderr.strip().startswith(says) and "Traceback" not in out.stderr
