"""Control requests: parsed into typed commands at the door; the control folder hands each request over once."""

from __future__ import annotations

import json

import pytest

from live.control import (
    CONTROL_DIR,
    ControlError,
    ControlFolder,
    LiveControl,
    Pause,
    Resume,
    SetSize,
    Stop,
    Swap,
    parse_command,
)


def test_every_request_becomes_one_typed_command():
    assert parse_command({"cmd": "stop"}) == Stop(flatten=True)
    assert parse_command({"cmd": "stop", "flatten": False}) == Stop(flatten=False)
    assert parse_command({"cmd": "size", "multiplier": "0.75", "reason": "poor"}) == SetSize(0.75, "poor")
    assert parse_command({"cmd": "pause", "reason": "critical", "flatten": False}) == Pause("critical", False)
    assert parse_command({"cmd": "resume", "reason": "swapped"}) == Resume("swapped")
    swap = parse_command({"cmd": "swap", "spec": "rules", "policy_id": "p1", "params": {"x": 1}, "reason": "better"})
    assert swap == Swap("p1", "rules", {"x": 1}, "better")
    loaded = object()
    assert parse_command({"cmd": "swap", "policy_id": "p2", "strategy": loaded}).strategy is loaded


@pytest.mark.parametrize(
    ("req", "names"),
    [
        ({"cmd": "size"}, "multiplier"),
        ({"cmd": "size", "multiplier": "lots"}, "multiplier"),
        ({"cmd": "size", "multiplier": float("nan")}, "finite"),
        ({"cmd": "swap", "spec": "rules"}, "policy_id"),
        ({"cmd": "swap", "policy_id": "p1"}, "spec"),
        ({"cmd": "pause", "reason": 3}, "reason"),
        ({"cmd": "reboot"}, "allowed: stop, size, pause, resume, swap"),
    ],
)
def test_a_bad_request_is_refused_naming_what_is_wrong(req, names):
    with pytest.raises(ControlError, match=names):
        parse_command(req)


def test_the_control_folder_hands_each_request_over_once_oldest_first(tmp_path):
    ctl = LiveControl(tmp_path)
    first = ctl.send("size", multiplier=0.5)
    ctl.send("pause", reason="r")
    (tmp_path / CONTROL_DIR / "9-torn.json").write_text("{not json")  # being written: left for the next turn
    folder = ControlFolder(tmp_path)
    taken = folder.take(last_id=None)
    assert [r["cmd"] for r in taken] == ["size", "pause"]
    assert folder.take(last_id=taken[-1]["id"]) == []  # each file is removed once read
    (tmp_path / CONTROL_DIR / "1-again.json").write_text(json.dumps({"id": first, "cmd": "size", "multiplier": 2}))
    assert folder.take(last_id=first) == []  # the request handled last (before a restart) is not handled again
    folder.clear()
    assert not list((tmp_path / CONTROL_DIR).glob("*.json"))


def test_the_trader_handles_commands_between_bars_and_journals_a_refused_one(tmp_path):
    from backtest.strategies.rules import RulesStrategy
    from live.journal import read_records
    from live.rehearsal import make_rig

    rig = make_rig(tmp_path, lambda p: RulesStrategy(p.trading), history=200, n_bars=300)
    try:
        ctl = LiveControl(rig.root)
        ctl.send("size", multiplier="lots")
        ctl.send("size", multiplier=0.5, reason="test")
        rig.advance()
        errors = [r for r in read_records(rig.root, kinds={"error"}) if r["where"] == "control"]
        assert len(errors) == 1 and "multiplier" in errors[0]["error"]
        assert [r["new"] for r in read_records(rig.root, kinds={"size"})] == [0.5]
        assert rig.trader.handle(SetSize(99.0)) == rig.params.live.size_multiplier_max
        assert rig.trader.handle(Swap("other", "no-such-strategy")) is False  # journalled; nothing changes
        assert rig.trader.status()["policy_id"] == "test-policy"
        assert any(r["where"] == "swap" for r in read_records(rig.root, kinds={"error"}))
    finally:
        rig.stop()
