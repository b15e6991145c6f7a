"""Benchmark the paper exchange with the real SDK as the client (not a test).

Starts `python -m live.paper_exchange` as a separate process on loopback (manual clock, synthetic bars), then:
1. throughput: `--clients` client PROCESSES (one wallet each) sign their IOC orders on xyz:XYZ100 (alternating sides)
   in advance with the SDK's `sign_l1_action`, wait on a common barrier, then post them back to back with the SDK's
   own transport (`hyperliquid.api.API.post`, a requests session). Every action is parsed, hashed, its signer
   recovered exactly, nonce-checked and matched by the server. Reported: actions/s over the whole run, the slowest
   and median whole second (sustained rate), and the CPU time per action of the server (from /proc) and of the
   clients (process_time): on a shared machine the wall-clock rate depends on other load, the CPU cost much less.
   `--no-trust-env` (default) sets `session.trust_env = False` on each client's SDK session, so requests does not
   rescan the process environment for proxies on every call (~200 us of client CPU); `--trust-env` keeps the default.
2. latency: sequential SDK `Exchange.market_open` calls (untouched SDK objects); each includes the client-side signing
   (eth_account), the `allMids` request and the `order` request. The transport share is reported too.

By default the server runs with `--state` in a temporary folder, i.e. with its write-ahead journal: every action is
on disk (group-committed, fdatasync) before its answer, which is the durable configuration the live trader is
rehearsed against. `--no-state` measures the in-memory server (nothing survives a crash).

Usage: .venv/bin/python -m bench.bench_paper_exchange [--actions 16000] [--clients 4] [--latency-calls 300]
                                                      [--state | --no-state]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from typing import Any

from eth_account import Account
from hyperliquid.api import API
from hyperliquid.exchange import Exchange
from hyperliquid.utils.signing import sign_l1_action

COIN_ASSET = 110000


def _sign_batch(key: str, first_nonce: int, n: int) -> list[dict[str, Any]]:
    """`n` signed IOC order payloads (buy far above / sell far below the book, so each one fills)."""
    wallet = Account.from_key(key)
    out = []
    for i in range(n):
        action = {
            "type": "order",
            "orders": [{"a": COIN_ASSET, "b": i % 2 == 0, "p": "30000" if i % 2 == 0 else "10000", "s": "0.001",
                        "r": False, "t": {"limit": {"tif": "Ioc"}}}],
            "grouping": "na",
        }  # fmt: skip
        nonce = first_nonce + i
        sig = sign_l1_action(wallet, action, None, nonce, None, False)
        out.append({"action": action, "nonce": nonce, "signature": sig, "vaultAddress": None, "expiresAfter": None})
    return out


def _client(url: str, key: str, first_nonce: int, n: int, trust_env: bool, barrier: Any, results: Any) -> None:
    """One client process: sign `n` actions, wait for the others, post them all; report counts, times, CPU."""
    batch = _sign_batch(key, first_nonce, n)
    api = API(url, timeout=10)
    api.session.trust_env = trust_env
    api.post("/exchange", batch[0])  # open the keep-alive connection outside the timed run
    barrier.wait()
    cpu0 = time.process_time()
    ok = errors = 0
    done: list[float] = []
    for payload in batch[1:]:
        r = api.post("/exchange", payload)
        if r.get("status") == "ok" and "error" not in r["response"]["data"]["statuses"][0]:
            ok += 1
        else:
            errors += 1
        done.append(time.time())
    results.put((ok, errors, done, time.process_time() - cpu0))


def start_server(addresses: list[str], state: str | None = None, sync: str = "fsync") -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "live.paper_exchange", "--port", "0", "--speed", "0", "--bars", "3000"]
    if state:
        cmd += ["--state", state, "--journal-sync", sync]
    for a in addresses:
        cmd += ["--fund", f"{a}:10000000"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        m = re.search(r"listening on (http://\S+)", line)
        if m:
            return proc, m.group(1)
    raise RuntimeError("paper exchange did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def throughput(url: str, wallets: list[Any], per: int, trust_env: bool, server_pid: int) -> None:
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(len(wallets) + 1)
    results = ctx.Queue()
    base = int(time.time() * 1000)
    procs = [
        ctx.Process(target=_client, args=(url, w.key.hex(), base, per, trust_env, barrier, results)) for w in wallets
    ]
    t_sign = time.perf_counter()
    for p in procs:
        p.start()
    barrier.wait(timeout=600)
    t0, cpu0 = time.time(), cpu_seconds(server_pid)
    sign_s = time.perf_counter() - t_sign
    print(f"signed {per * len(wallets)} actions in advance in {sign_s:.1f} s (SDK sign_l1_action, in the clients)")
    out = [results.get(timeout=600) for _ in procs]
    cpu1 = cpu_seconds(server_pid)
    for p in procs:
        p.join()
    done = [t for o in out for t in o[2]]
    client_cpu = sum(o[3] for o in out)
    ok, n = sum(o[0] for o in out), len(done)
    elapsed = max(done) - t0
    per_second = Counter(int(t - t0) for t in done)
    full = [per_second[s] for s in range(int(elapsed))]  # whole seconds only
    print(f"throughput: {n} signed order actions in {elapsed:.2f} s = {n / elapsed:.0f} actions/s "
          f"({len(wallets)} client processes, trust_env={trust_env}, {ok} filled, {n - ok} not)")  # fmt: skip
    if full:
        med = statistics.median(full)
        print(f"sustained: per whole second min {min(full)}/s, median {med:.0f}/s over {len(full)} s")
    server_us, client_us = 1e6 * (cpu1 - cpu0) / n, 1e6 * client_cpu / n
    print(f"CPU per action: server {server_us:.0f} us (one server core: ~{1e6 / server_us:.0f} actions/s), "
          f"SDK clients {client_us:.0f} us; both on {os.cpu_count()} otherwise idle cores: "
          f"~{os.cpu_count() * 1e6 / (server_us + client_us):.0f} actions/s (CPU-bound estimate)")  # fmt: skip


def latency(url: str, wallets: list[Any], calls: int) -> None:
    ex = Exchange(wallets[0], url, perp_dexs=["", "xyz"], timeout=5)
    total, server = [], []
    for i in range(calls):
        t = time.perf_counter()
        r = ex.market_open("xyz:XYZ100", i % 2 == 0, 0.001)
        total.append((time.perf_counter() - t) * 1e3)
        assert r["status"] == "ok", r
    api = API(url, timeout=5)
    for _ in range(calls):  # the transport share of one market_open: allMids + a pre-signed order
        payload = _sign_batch(wallets[-1].key.hex(), int(time.time() * 1000) + 10**6, 1)[0]
        t = time.perf_counter()
        api.post("/info", {"type": "allMids", "dex": "xyz"})
        api.post("/exchange", payload)
        server.append((time.perf_counter() - t) * 1e3)
    print(f"market_open round trip (SDK, incl. client-side signing), {len(total)} calls: "
          f"p50 {statistics.median(total):.2f} ms, p99 {pct(total, 0.99):.2f} ms")  # fmt: skip
    print(f"market_open transport share (allMids + order, signature made before timing): "
          f"p50 {statistics.median(server):.2f} ms, p99 {pct(server, 0.99):.2f} ms")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--actions", type=int, default=16000)
    ap.add_argument("--clients", type=int, default=4, help="client processes (one wallet and connection each)")
    ap.add_argument("--trust-env", action=argparse.BooleanOptionalAction, default=False)
    ap.add_argument("--latency-calls", type=int, default=300)
    ap.add_argument(
        "--state",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the server with a state file and its write-ahead journal (durable acks; default)",
    )
    ap.add_argument("--journal-sync", choices=("fsync", "write"), default="fsync", help="the server's --journal-sync")
    a = ap.parse_args()

    wallets = [Account.create() for _ in range(a.clients)]
    tmp = tempfile.TemporaryDirectory(prefix="bench-paper-")
    state = os.path.join(tmp.name, "state.json") if a.state else None
    proc, url = start_server([w.address.lower() for w in wallets], state, a.journal_sync)
    how = f"write-ahead journal, --journal-sync {a.journal_sync} before every ack" if state else "in memory"
    print(f"server: {how}")
    try:
        throughput(url, wallets, a.actions // a.clients + 1, a.trust_env, proc.pid)
        if a.latency_calls > 0:
            latency(url, wallets, a.latency_calls)
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    finally:
        proc.terminate()
        proc.wait(30)
        tmp.cleanup()


if __name__ == "__main__":
    main()
