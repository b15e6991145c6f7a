"""One trader per venue, account and coin, wherever it runs; nonces that never collide between processes.

The scenario the lock is for: two `live.serve` processes on one paper account with different journal folders. The
second is refused naming the first; after the first is killed with kill -9 the second starts, takes the position
over and trades without a single nonce refused."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backtest.config import load_objectives, load_params
from live.journal import read_records
from live.keys import paper_wallet
from live.lock import LockHeld, NonceSource, acquire_trader_lock, runtime_dir, trader_key
from live.paper_exchange.server import start_in_thread
from live.rehearsal import MATCHED, matched_paper_config, synthetic_bars
from live.service import ServiceError, prepare_settings
from live.service import acquire_trader_lock as acquire_service_locks
from tests.support.trader import RULES_BUSY

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "0x" + "ab" * 20


def test_the_lock_is_keyed_by_venue_account_and_coin_not_by_journal_and_names_the_holder(tmp_path):
    held = acquire_trader_lock("http://127.0.0.1:9001", ACCOUNT, "xyz:XYZ100", {"journal": "/a", "policy_id": "p"})
    try:
        with pytest.raises(LockHeld) as info:  # localhost is 127.0.0.1; the account's case does not matter
            acquire_trader_lock("http://LOCALHOST:9001/", ACCOUNT.upper().replace("0X", "0x"), "xyz:XYZ100", {})
        assert info.value.holder["pid"] == os.getpid() and info.value.holder["journal"] == "/a"
        assert str(runtime_dir()) in info.value.holder["where"]
        for other in [("http://127.0.0.1:9002", ACCOUNT, "xyz:XYZ100"), ("http://127.0.0.1:9001", ACCOUNT, "BTC")]:
            acquire_trader_lock(*other, {}).release()  # another venue or coin: another trader may run
    finally:
        held.release()
    acquire_trader_lock("http://127.0.0.1:9001", ACCOUNT, "xyz:XYZ100", {}).release()  # released: free again
    assert trader_key("http://127.0.0.1:1", ACCOUNT, "BTC") != trader_key("http://127.0.0.1:1", ACCOUNT, "ETH")


def test_a_second_trader_with_another_journal_folder_is_refused_naming_the_running_one(tmp_path):
    params = load_params(overrides=[f"live.journal_dir={tmp_path / 'a'}"])
    settings = prepare_settings("paper", "rules", params, load_objectives(), "http://127.0.0.1:9003")
    first = acquire_service_locks(settings)
    try:
        with pytest.raises(ServiceError) as info:
            acquire_service_locks(settings, journal_dir=tmp_path / "b")
        text = str(info.value)
        assert f"pid {os.getpid()}" in text and str(tmp_path / "a") in text and "already running" in text
        assert "live.serve stop --set live.journal_dir=" in text
    finally:
        first.release()
    acquire_service_locks(settings, journal_dir=tmp_path / "b").release()


_ALLOCATE = """
import sys
from pathlib import Path
from live.lock import NonceSource
src = NonceSource(Path(sys.argv[1]))
print(" ".join(str(src.next()) for _ in range(int(sys.argv[2]))))
"""


def test_nonces_from_two_processes_for_one_signer_never_collide_and_each_increases(tmp_path):
    path = tmp_path / "signer.nonce"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", _ALLOCATE, str(path), "1500"], stdout=subprocess.PIPE, env=env,
                              text=True) for _ in range(2)]  # fmt: skip
    outs = [[int(x) for x in p.communicate(timeout=60)[0].split()] for p in procs]
    for out in outs:
        assert len(out) == 1500 and all(b > a for a, b in itertools.pairwise(out))
    assert not set(outs[0]) & set(outs[1])  # ~1 ms apart at most: the clock alone would have collided
    assert NonceSource(path).next() > max(max(o) for o in outs)  # a later process goes on above them


def _spawn(url: str, journal_dir: Path, log: Path) -> subprocess.Popen:
    sets = [*MATCHED, *RULES_BUSY, "live.history_bars=120", "backtest.warmup_bars=120",
            f"live.journal_dir={journal_dir}", "live.order_timeout_s=5", "live.stale_feed_seconds=60",
            f"live.emergency_stop_file={journal_dir / 'ESTOP'}", "trading.take_profit_pct=50",
            "trading.stop_loss_pct=50", "trading.max_hold_seconds=0"]  # fmt: skip
    cmd = [sys.executable, "-m", "live.serve", "--in-process", "--strategy", "rules", "--base-url", url,
           "--status-every", "1000"]  # fmt: skip
    for s in sets:
        cmd += ["--set", s]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("RAY_ADDRESS", None)
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)


def _wait(pred, timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_two_traders_on_one_account_the_second_is_refused_then_takes_over_after_kill_9_of_the_first(tmp_path):
    params = load_params(overrides=MATCHED)
    user = paper_wallet(params.market.coin, 1).account.lower()
    server = start_in_thread(matched_paper_config(params, 120), bars=synthetic_bars(800, params))
    roots = [tmp_path / d / "xyz_XYZ100" / user for d in ("a", "b")]

    def records(i: int) -> list[dict]:
        return list(read_records(roots[i])) if roots[i].exists() else []

    def venue_size() -> float:
        pos = server.exchange.engine.accounts[user].positions.get(params.market.coin)
        return pos.szi if pos else 0.0

    procs: list[subprocess.Popen] = []
    try:
        procs.append(_spawn(server.url, tmp_path / "a", tmp_path / "a.log"))
        _wait(lambda: any(r["kind"] == "history" for r in records(0)), 90, "the first trader to warm up")
        for _ in range(40):  # until the first one holds a position (long holds: it keeps it)
            server.step(4)
            time.sleep(0.25)
            if venue_size() != 0:
                break
        assert venue_size() != 0, "the first trader never opened a position"
        second = _spawn(server.url, tmp_path / "b", tmp_path / "b1.log")
        assert second.wait(90) == 1
        refusal = (tmp_path / "b1.log").read_text()
        assert f"pid {procs[0].pid}" in refusal and str(roots[0]) in refusal and "already running" in refusal
        assert not any(r["kind"] == "start" for r in records(1))  # it never started trading
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait(10)
        procs.append(_spawn(server.url, tmp_path / "b", tmp_path / "b2.log"))
        _wait(lambda: any(r["kind"] == "reconcile" for r in records(1)), 90, "the second trader to take over")
        adopted = next(r for r in records(1) if r["kind"] == "reconcile")
        assert adopted["venue_size"] == pytest.approx(venue_size()) and adopted["local_size"] == adopted["venue_size"]
        for _ in range(8):
            server.step(4)
            time.sleep(0.25)
        from live.control import LiveControl

        LiveControl(roots[1]).stop(flatten=True)
        assert procs[-1].wait(60) == 0
        acks = [r for i in (0, 1) for r in records(i) if r["kind"] == "ack"]
        assert acks and not [a for a in acks if "nonce" in str(a.get("error", "")).lower()]
        assert venue_size() == 0  # the second trader knew the position and closed it
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        server.stop()


def test_on_ray_the_lock_is_a_named_actor_that_refuses_another_node_s_trader_and_dies_with_its_holder(
    ray_session, tmp_path
):
    import ray

    from cluster.connect import NAMESPACE

    @ray.remote(num_cpus=0)
    class Holder:  # a trader process elsewhere: its own runtime dir, so only the cluster-wide lock can stop it
        def take(self, url: str) -> str:
            self.lock = acquire_trader_lock(url, ACCOUNT, "xyz:XYZ100", {"journal": "/elsewhere"})
            return self.lock.holder["host"]

    url = "http://127.0.0.1:9004"
    holder = Holder.options(runtime_env={"env_vars": {"AML100_RUNTIME_DIR": str(tmp_path / "node2")}}).remote()
    ray.get(holder.take.remote(url), timeout=60)
    with pytest.raises(LockHeld) as info:
        acquire_trader_lock(url, ACCOUNT, "xyz:XYZ100", {})
    assert "Ray actor trader-lock-" in info.value.holder["where"] and info.value.holder["journal"] == "/elsewhere"
    ray.kill(holder)  # the holder dies: Ray ends its lock with it
    name = "trader-lock-" + trader_key(url, ACCOUNT, "xyz:XYZ100")

    def gone() -> bool:
        try:
            ray.get_actor(name, namespace=NAMESPACE)
            return False
        except ValueError:
            return True

    _wait(gone, 30, "the lock actor to end with its holder")
    acquire_trader_lock(url, ACCOUNT, "xyz:XYZ100", {}).release()
