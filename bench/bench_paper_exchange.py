"""Benchmark the paper exchange with the real SDK as the client (not a test).

Starts `python -m live.paper_exchange` as a separate process on loopback (manual clock, synthetic bars), then:
1. throughput: N order actions (IOC market-style orders on xyz:XYZ100, alternating sides) signed in advance with
   the SDK's `sign_l1_action` in worker processes, then posted with the SDK's own transport (`API.post`) from
   several client threads; every action is signature-verified, nonce-checked and matched by the server;
2. latency: sequential SDK `Exchange.market_open` calls; each includes the client-side signing (pure-Python
   ECDSA in eth_account), the `allMids` request and the `order` request. The server-side share is reported too.

Usage: .venv/bin/python -m bench.bench_paper_exchange [--actions 4000] [--threads 4] [--latency-calls 300]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from eth_account import Account
from hyperliquid.api import API
from hyperliquid.exchange import Exchange
from hyperliquid.utils.signing import sign_l1_action

COIN_ASSET = 110000


def _sign_batch(args: tuple[str, int, int]) -> list[dict]:
    key, first_nonce, n = args
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


def start_server(addresses: list[str]) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "live.paper_exchange", "--port", "0", "--speed", "0", "--bars", "3000"]
    for a in addresses:
        cmd += ["--fund", f"{a}:10000000"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        m = re.search(r"listening on (http://\S+)", line)
        if m:
            return proc, m.group(1)
    raise RuntimeError("paper exchange did not start")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--actions", type=int, default=4000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--latency-calls", type=int, default=300)
    a = ap.parse_args()

    wallets = [Account.create() for _ in range(a.threads)]
    proc, url = start_server([w.address.lower() for w in wallets])
    try:
        per = a.actions // a.threads
        base = int(time.time() * 1000)
        t0 = time.perf_counter()
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            batches = list(pool.map(_sign_batch, [(w.key.hex(), base, per) for w in wallets]))
        sign_s = time.perf_counter() - t0

        def send(batch: list[dict]) -> tuple[int, int]:
            api = API(url, timeout=10)
            ok = errors = 0
            for payload in batch:
                r = api.post("/exchange", payload)
                if r.get("status") == "ok" and "error" not in r["response"]["data"]["statuses"][0]:
                    ok += 1
                else:
                    errors += 1
            return ok, errors

        for b in batches:  # warm up each signer's public-key cache with one action
            send(b[:1])
        rest = [b[1:] for b in batches]
        n = sum(len(b) for b in rest)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(a.threads) as tp:
            results = list(tp.map(send, rest))
        elapsed = time.perf_counter() - t0
        ok = sum(r[0] for r in results)
        print(
            f"signed {a.actions} actions in advance in {sign_s:.1f} s ({a.actions / sign_s:.0f}/s, SDK sign_l1_action)"
        )
        print(f"throughput: {n} signed order actions in {elapsed:.2f} s = {n / elapsed:.0f} actions/s "
              f"({a.threads} client threads, {ok} filled, {n - ok} not)")  # fmt: skip

        ex = Exchange(wallets[0], url, perp_dexs=["", "xyz"], timeout=5)
        total, server = [], []
        for i in range(a.latency_calls):
            t = time.perf_counter()
            r = ex.market_open("xyz:XYZ100", i % 2 == 0, 0.001)
            total.append((time.perf_counter() - t) * 1e3)
            assert r["status"] == "ok", r
        api = API(url, timeout=5)
        for _ in range(a.latency_calls):  # the transport share of one market_open: allMids + a pre-signed order
            payload = _sign_batch((wallets[1].key.hex(), int(time.time() * 1000) + 10**6, 1))[0]
            t = time.perf_counter()
            api.post("/info", {"type": "allMids", "dex": "xyz"})
            api.post("/exchange", payload)
            server.append((time.perf_counter() - t) * 1e3)
        print(f"market_open round trip (SDK, incl. client-side signing), {len(total)} calls: "
              f"p50 {statistics.median(total):.2f} ms, p99 {pct(total, 0.99):.2f} ms")  # fmt: skip
        print(f"market_open transport share (allMids + order, signature made before timing): "
              f"p50 {statistics.median(server):.2f} ms, p99 {pct(server, 0.99):.2f} ms")  # fmt: skip
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
