"""Registry: round trip, atomic writes, one promoted entry per coin, gate-guarded CLI promotion with override."""

from __future__ import annotations

import json

import pytest

from rl import registry as reg_mod
from rl.registry import Registry, RegistryError, write_index
from rl.registry.__main__ import main as registry_main

COIN = "xyz:XYZ100"
PASSING = {
    "monthly_return_pct": 20.0,
    "sharpe": 2.0,
    "max_drawdown_pct": 3.0,
    "profit_factor": 1.6,
    "n_trades": 120,
    "real_days": 40.0,
}
FAILING = {**PASSING, "sharpe": 0.4, "real_days": 0.0}


def _add(reg: Registry, test: dict, kind: str = "ppo") -> dict:
    return reg.add(
        kind, reg.root / "ckpt", COIN, metadata={"seed": 3}, validation={"sharpe": 1.0}, test=test, min_trades=100
    )


def test_round_trip(tmp_path):
    reg = Registry(tmp_path)
    entry = _add(reg, PASSING)
    again = Registry(tmp_path).get(entry["id"])
    assert again == entry
    assert again["status"] == "candidate" and again["history"][0]["to"] == "candidate"
    assert Registry(tmp_path).get(entry["id"][:-3]) == entry  # unique prefix
    with pytest.raises(RegistryError):
        reg.get("nope")
    with pytest.raises(RegistryError):
        reg.add("xgboost", tmp_path, COIN)


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    path = tmp_path / "index.json"
    write_index(path, {"a": 1})
    with pytest.raises(RuntimeError):
        write_index(path, {"a": 2, "c": _Boom()})  # fails half-way through serialising
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["index.json"]  # no temp file left behind


class _Boom:
    def tolist(self):
        raise RuntimeError("boom")


def test_one_promoted_per_coin(tmp_path):
    reg = Registry(tmp_path)
    first, second = _add(reg, PASSING), _add(reg, PASSING, kind="dqn")
    reg.promote(first["id"], "gate passed")
    assert reg_mod.promoted(COIN, tmp_path)["id"] == first["id"]
    _, previous = reg.promote(second["id"], "gate passed")
    assert previous["id"] == first["id"]
    assert reg.promoted(COIN)["id"] == second["id"]
    old = reg.get(first["id"])
    assert old["status"] == "retired" and second["id"] in old["history"][-1]["reason"]
    assert reg.promoted("other:COIN") is None


def test_cli_refuses_failing_and_records_override(tmp_path, capsys):
    reg = Registry(tmp_path)
    bad = _add(reg, FAILING)
    root = ["--root", str(tmp_path)]
    assert registry_main([*root, "promote", bad["id"]]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "sharpe" in out
    assert reg.get(bad["id"])["status"] == "candidate"
    assert registry_main([*root, "promote", bad["id"], "--override"]) == 2  # no reason
    assert registry_main([*root, "promote", bad["id"], "--override", "--reason", "paper trial"]) == 0
    entry = reg.get(bad["id"])
    assert entry["status"] == "promoted"
    last = entry["history"][-1]
    assert last["override"] is True and "paper trial" in last["reason"] and "sharpe" in last["reason"]
    assert entry["gate"]["passed"] is False


def test_cli_for_live_needs_real_days(tmp_path, capsys):
    reg = Registry(tmp_path)
    synth = _add(reg, {**PASSING, "real_days": 0.0})
    real = _add(reg, PASSING)
    root = ["--root", str(tmp_path)]
    assert registry_main([*root, "promote", synth["id"], "--for-live"]) == 1
    assert "days of real data" in capsys.readouterr().out
    assert registry_main([*root, "promote", synth["id"]]) == 0  # fine for paper use
    assert registry_main([*root, "promote", real["id"], "--for-live"]) == 0
    assert reg.get(synth["id"])["status"] == "retired"
    assert registry_main([*root, "list"]) == 0
    listing = capsys.readouterr().out
    assert real["id"] in listing and "promoted" in listing
    assert registry_main([*root, "show", real["id"]]) == 0
    assert registry_main([*root, "retire", real["id"]]) == 0
    assert reg.promoted(COIN) is None


def test_add_refuses_a_test_span_that_overlaps_the_checkpoints_training_dates(tmp_path, capsys):
    """`add --days` recomputes the test span; when it falls on dates the policy was trained on, both are named."""
    from backtest.config import load_params
    from rl import checkpoint as ck

    params = load_params(overrides=["backtest.days=2"])
    ckpt = tmp_path / "ckpt"
    splits = {
        "train": {"bars": [0, 1728], "start": "2026-01-01T00:00:00+00:00", "end": "2026-01-02T04:47:00+00:00"},
        "validation": {"bars": [1728, 2304], "start": "2026-01-02T04:48:00+00:00", "end": "2026-01-02T14:23:00+00:00"},
    }
    meta = {"algo": "ppo", "config": params.model_dump(mode="json"), "data": {"source": "synthetic", "days": 2.0,
            "splits": splits}}  # fmt: skip
    ck.write_json(ckpt / ck.META_FILE, meta)
    code = registry_main(
        ["--root", str(tmp_path / "reg"), "add", str(ckpt), "--days", "1"]
    )  # test = last 20 % of day 1
    err = capsys.readouterr().err
    assert code == 2
    assert "overlaps the training span 2026-01-01T00:00:00+00:00" in err and "test span 2026-01-01T19:1" in err
    assert Registry(tmp_path / "reg").entries() == []


def test_for_live_counts_proxy_days_separately_and_the_list_shows_them(tmp_path, capsys):
    reg = Registry(tmp_path)
    proxy_heavy = _add(reg, {**PASSING, "real_days": 3.0, "proxy_days": 25.0, "share_real": 0.1, "share_proxy": 0.8,
                             "share_synthetic": 0.1})  # fmt: skip
    proxy_only = _add(reg, {**PASSING, "real_days": 0.0, "proxy_days": 40.0, "share_real": 0.0, "share_proxy": 1.0})
    root = ["--root", str(tmp_path)]
    assert registry_main([*root, "promote", proxy_only["id"], "--for-live"]) == 1  # proxy never stands in for real
    assert "days of real data" in capsys.readouterr().out
    assert registry_main([*root, "promote", proxy_heavy["id"], "--for-live"]) == 0
    assert "days of real + proxy data" in capsys.readouterr().out
    assert registry_main([*root, "list"]) == 0
    listing = capsys.readouterr().out
    assert "proxy days" in listing and "synthetic %" in listing
    row = next(line for line in listing.splitlines() if line.startswith(proxy_heavy["id"]))
    assert row.split()[-3:] == ["3", "25", "10"]


CORRUPT = {
    "truncated": ('{"version": 1, "entries": [{"id": "ppo-1", "ki', "not valid JSON"),
    "a list": ("[1, 2, 3]", "holds a JSON list"),
    "an empty object": ("{}", "has no 'entries' list"),
    "an entry missing keys": ('{"version": 1, "entries": [{"id": "ppo-1", "kind": "ppo"}]}',
                              "entry 0 (ppo-1) lacks 'coin', 'status'"),
    "an entry that is no object": ('{"entries": [7]}', "entry 0 is a JSON int"),
    "a bad status": ('{"entries": [{"id": "a", "kind": "ppo", "coin": "c", "status": "live", "checkpoint": "x", '
                     '"created": "t", "history": []}]}', "status 'live'"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CORRUPT))
def test_a_corrupt_index_is_refused_in_one_line_naming_the_file_and_never_overwritten(tmp_path, case, capsys):
    text, says = CORRUPT[case]
    index = tmp_path / "index.json"
    index.write_text(text)
    for argv in (["list"], ["show", "ppo-1"], ["promote", "ppo-1"], ["retire", "ppo-1"]):
        assert registry_main(["--root", str(tmp_path), *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith(f"error: {index}: ") and says in err
        assert "rl.registry add" in err  # what to do
    with pytest.raises(RegistryError, match=str(index)):
        Registry(tmp_path).add("ppo", tmp_path / "ckpt", COIN)
    assert index.read_text() == text  # writes refuse before touching it


def test_live_serve_refuses_a_corrupt_registry_naming_the_file(tmp_path, capsys):
    from live.serve import main as serve_main

    (tmp_path / "index.json").write_text("[1, 2, 3]")
    code = serve_main(["--registry", str(tmp_path), "--set", f"live.journal_dir={tmp_path / 'live'}"])
    err = capsys.readouterr().err
    assert code == 2 and f"{tmp_path / 'index.json'}: holds a JSON list" in err
    assert "rules meanwhile" not in capsys.readouterr().out  # refused, not silently replaced by the rules


def test_an_index_that_cannot_be_read_says_so(tmp_path, capsys):
    (tmp_path / "index.json").mkdir()
    assert registry_main(["--root", str(tmp_path), "list"]) == 2
    assert "cannot be read" in capsys.readouterr().err
