"""`python -m live.serve` at the door: what it refuses and why; status and stop of a trader; the Ray actor."""

from __future__ import annotations

import json
import time

import pytest

from backtest.config import load_objectives, load_params
from live.rehearsal import MATCHED, matched_paper_config, synthetic_bars
from live.serve import format_status, main
from live.service import prepare_settings
from live.venue import check_real_venue


def test_no_promoted_policy_says_which_command_promotes_one_and_paper_falls_back_to_the_rules(tmp_path, capsys):
    params, objectives = load_params(), load_objectives()
    registry = tmp_path / "empty-registry"
    settings = prepare_settings("paper", "promoted", params, objectives, "http://127.0.0.1:1", registry_root=registry)
    out = capsys.readouterr().out
    assert "no policy is promoted" in out and "rl.registry promote" in out and "rules meanwhile" in out
    assert settings.strategy_spec == "rules" and settings.policy_id == "rules"
    code = main(["--mode", "testnet", "--registry", str(registry), "--set", f"live.journal_dir={tmp_path}"])
    assert code == 2 and "no policy is promoted" in capsys.readouterr().err  # a real venue refuses instead


def test_real_venues_need_a_live_gate_a_key_and_for_mainnet_a_confirmation():
    passed = {"id": "ppo-1", "gate": {"passed": True, "for_live": True}}
    paper_only = {"id": "ppo-2", "gate": {"passed": True, "for_live": False}}
    assert check_real_venue("paper", None, False, False) == []
    assert check_real_venue("testnet", passed, True, False) == []
    problems = check_real_venue("mainnet", paper_only, False, False)
    assert len(problems) == 3
    assert (
        "gate for live use" in problems[0]
        and "AML100_PRIVATE_KEY" in problems[1]
        and "--confirm-mainnet" in problems[2]
    )


def test_mainnet_with_rules_and_no_key_is_refused_before_anything_connects(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("AML100_PRIVATE_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    code = main(["--mode", "mainnet", "--strategy", "rules", "--set", f"live.journal_dir={tmp_path}"])
    err = capsys.readouterr().err
    assert code == 2 and "refusing to trade on mainnet" in err and "no signing key" in err
    params, objectives = load_params(), load_objectives()
    with pytest.raises(ValueError, match="paper exchange on this machine"):
        prepare_settings("paper", "rules", params, objectives, "https://api.hyperliquid.xyz")


def test_a_key_never_appears_in_errors(monkeypatch, tmp_path, capsys):
    secret = "0x" + "a1" * 31 + "zz"  # malformed: the error must not echo it
    monkeypatch.setenv("AML100_PRIVATE_KEY", secret)
    from live.keys import load_signer

    with pytest.raises(ValueError) as info:
        load_signer(dotenv=tmp_path / ".env")
    assert secret not in str(info.value) and "a1a1" not in str(info.value)


def test_status_without_a_trader_says_how_to_start_one(tmp_path, capsys):
    assert main(["status", "--set", f"live.journal_dir={tmp_path}"]) == 1
    assert "python -m live.serve" in capsys.readouterr().out


def test_the_ray_actor_trades_reports_resizes_swaps_stops_and_pushes_its_alerts(ray_session, tmp_path):
    """The long-lived actor on the session's Ray against a paper exchange in this process; its alerts reach a
    loopback endpoint from the actor's own process (the URL in its environment, as `ray start` would pass it)."""
    import ray

    from live.actor import LiveTraderActor, remote_class
    from live.paper_exchange.server import start_in_thread
    from tests.support.alerts import TOKEN, Sink

    sink = Sink()

    params = load_params(overrides=[*MATCHED, "live.history_bars=300", "backtest.warmup_bars=300",
                                    f"live.journal_dir={tmp_path}", f"live.emergency_stop_file={tmp_path}/E",
                                    "trading.rsi_buy_below=45", "trading.rsi_sell_above=55"])  # fmt: skip
    server = start_in_thread(matched_paper_config(params, 300), bars=synthetic_bars(1000, params))
    try:
        settings = prepare_settings("paper", "rules", params, load_objectives(), server.url)
        env = {"env_vars": {"AML100_ALERT_URLS": sink.url()}}  # a loopback test URL: a real one is never passed so
        actor = remote_class(LiveTraderActor, num_cpus=0).options(runtime_env=env).remote(settings.to_dict())
        st = ray.get(actor.status.remote(), timeout=120)
        assert st["running"] and st["mode"] == "paper" and st["policy_id"] == "rules"
        for _ in range(6):
            server.step(4)
            time.sleep(0.3)
        st = ray.get(actor.status.remote())
        assert st["counts"]["bars"] >= 4
        assert ray.get(actor.set_size_multiplier.remote(5.0, "test")) == params.live.size_multiplier_max
        st = ray.get(actor.swap.remote("buyhold", "buyhold", "test swap"))
        assert st["policy_id"] == "buyhold" and st["strategy"] == "buyhold"
        for _ in range(3):
            server.step(4)
            time.sleep(0.3)
        final = ray.get(actor.stop.remote(True), timeout=60)
        assert final["running"] is False and final["position"]["size"] == 0
        assert "buyhold" in format_status(final)
        ray.kill(actor)
        root = next(tmp_path.glob("xyz_XYZ100/*/"))
        kinds = [json.loads(line)["kind"] for f in root.glob("journal-*.jsonl") for line in f.read_text().splitlines()]
        assert "swap" in kinds and "size" in kinds and "stop" in kinds
        got = sink.wait(3)
        print("\n".join(f"{p['title']}: {p['message']}" for p in got))
        events = [p["title"].rsplit(" · ", 1)[1] for p in got]
        assert events[0] == "trader started" and "policy swapped" in events and events[-1] == "trader stopped"
        assert got[0]["title"].startswith("INFO · xyz:XYZ100 paper · ")
        assert TOKEN not in "".join(f.read_text() for f in root.rglob("*.json*"))
    finally:
        server.stop()
        sink.close()


def test_maker_styles_pass_the_door_and_reach_the_trader_s_settings(tmp_path):
    params = load_params(overrides=["execution.entry=maker", "execution.exit=maker", "execution.entry_ttl_bars=3"])
    settings = prepare_settings("paper", "rules", params, load_objectives(), "http://127.0.0.1:1")
    ex = settings.params["execution"]
    assert (ex["entry"], ex["exit"], ex["entry_ttl_bars"]) == ("maker", "maker", 3)


@pytest.mark.parametrize("key", ["0x" + "a1" * 31 + "zz", "a1b2", "0x" + "00" * 32])
def test_a_malformed_key_is_reported_as_malformed_not_missing_and_never_echoed(monkeypatch, tmp_path, capsys, key):
    monkeypatch.setenv("AML100_PRIVATE_KEY", key)
    code = main(["--mode", "testnet", "--strategy", "rules", "--set", f"live.journal_dir={tmp_path}"])
    err = capsys.readouterr().err
    assert code == 2 and "AML100_PRIVATE_KEY (in the environment) is malformed" in err
    assert "no signing key" not in err and key not in err and key.removeprefix("0x")[:8] not in err


def test_pause_and_resume_from_the_command_line_reach_the_running_trader(tmp_path, capsys):
    """`python -m live.serve pause|resume`: through the control folder, handled between two bars, shown."""
    import threading

    from backtest.strategies.rules import RulesStrategy
    from live.journal import read_records
    from live.rehearsal import make_rig

    rig = make_rig(tmp_path / "rig", lambda p: RulesStrategy(p.trading), n_bars=400, history=200)
    base = tmp_path / "journals"
    (base / "xyz_XYZ100").mkdir(parents=True)
    (base / "xyz_XYZ100" / rig.trader.id.account).symlink_to(rig.root)  # where live.serve looks for traders
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            rig.trader.step(0.05)

    worker = threading.Thread(target=loop, daemon=True)
    worker.start()
    try:
        sets = ["--set", f"live.journal_dir={base}"]
        assert main(["pause", "--reason", "checking the venue", *sets]) == 0
        assert rig.trader.state.risk.paused and "paused" in capsys.readouterr().out
        assert main(["resume", *sets]) == 0
        assert not rig.trader.state.risk.paused
        alerts = [(a["event"], a["figures"].get("reason")) for a in read_records(rig.root, kinds={"alert"})]
        assert ("paused", "checking the venue") in alerts and (
            "resumed",
            "operator: python -m live.serve resume",
        ) in alerts
    finally:
        stop.set()
        worker.join(5)
        rig.stop()
