"""A loopback stand-in for the HyperLiquid /info endpoint (stdlib http.server in a thread, random port).

Answers spotMeta, perpDexs, meta, userFees and candleSnapshot the way the API does, keeps only the latest `window`
candles, returns at most `page_size` candles a request, and can fail candleSnapshot requests with given HTTP statuses.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

COIN = "xyz:XYZ100"


def make_candles(n: int, end_ms: int, step_ms: int = 60_000, seed: int = 0) -> list[dict]:
    """`n` API-shaped candles whose last one closes at `end_ms`."""
    rng = np.random.default_rng(seed)
    close = 25_000 * np.exp(np.cumsum(rng.normal(0, 3e-4, n)))
    open_ = np.concatenate([[25_000.0], close[:-1]])
    out = []
    for i in range(n):
        t = end_ms - (n - i) * step_ms
        o, c = open_[i], close[i]
        out.append(
            {
                "t": t, "T": t + step_ms - 1, "s": COIN, "i": "1m",
                "o": f"{o:.1f}", "c": f"{c:.1f}", "h": f"{max(o, c) + 2:.1f}", "l": f"{min(o, c) - 2:.1f}",
                "v": f"{rng.uniform(1, 9):.4f}", "n": int(rng.integers(1, 50)),
            }
        )  # fmt: skip
    return out


class StubApi:
    def __init__(self, candles: list[dict], window: int = 5000, page_size: int = 5000):
        self.candles = candles
        self.window = window
        self.page_size = page_size
        self.fail: list[int] = []  # statuses to answer the next candleSnapshot requests with, one each
        self.always_fail: int | None = None
        self.requests: list[dict] = []
        self.deployer_fee_scale = "1.0"
        self.growth_mode = False
        self.user_rates = ("0.0004", "0.00012")  # userCrossRate, userAddRate (a tier-1 account)
        self._server: ThreadingHTTPServer | None = None

    def answer(self, body: dict) -> tuple[int, object]:
        kind = body.get("type")
        if kind == "spotMeta":
            return 200, {"universe": [], "tokens": []}
        if kind == "perpDexs":
            dex = {"name": "xyz", "fullName": "XYZ", "deployer": "0x" + "0" * 40}
            return 200, [None, {**dex, "deployerFeeScale": self.deployer_fee_scale}]
        if kind == "userFees":
            cross, add = self.user_rates
            return 200, {"dailyUserVlm": [], "feeSchedule": {"cross": "0.00045", "add": "0.00015"},
                         "userCrossRate": cross, "userAddRate": add, "activeReferralDiscount": "0.0"}  # fmt: skip
        if kind == "meta":
            if body.get("dex") == "xyz":
                xyz = {"name": COIN, "szDecimals": 4, "maxLeverage": 30}
                xyz.update({"growthMode": "enabled"} if self.growth_mode else {})
                return 200, {"universe": [xyz], "marginTables": []}
            return 200, {"universe": [{"name": "BTC", "szDecimals": 5, "maxLeverage": 50}], "marginTables": []}
        if kind == "candleSnapshot":
            if self.always_fail:
                return self.always_fail, "stub failure"
            if self.fail:
                return self.fail.pop(0), "stub failure"
            req = body["req"]
            kept = self.candles[-self.window :]
            hits = [c for c in kept if req["startTime"] <= c["t"] <= req["endTime"] and c["s"] == req["coin"]]
            return 200, hits[: self.page_size]
        return 400, {"code": 400, "msg": f"unknown type {kind}"}

    def start(self) -> str:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append(body)
                status, payload = stub.answer(body)
                data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def candle_requests(self) -> list[dict]:
        return [r for r in self.requests if r.get("type") == "candleSnapshot"]
