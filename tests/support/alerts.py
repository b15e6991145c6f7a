"""A loopback HTTP endpoint for alert tests: it receives what apprise's json:// sends, and can be slow or absent."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "S3CRET-tok3n-9f8e7d6c"  # stands for a bot token in the URL path: it must never show anywhere


def free_port() -> int:
    """A loopback port nothing listens on (a dead endpoint: connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """`json://127.0.0.1:<port>/<path>` target; `posts` are the JSON bodies received (path, payload)."""

    def __init__(self, port: int = 0, delay_s: float = 0.0) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.cv = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if delay_s:
                    time.sleep(delay_s)  # a slow endpoint: the client times out first
                with sink.cv:
                    sink.posts.append((self.path, json.loads(body)))
                    sink.cv.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = f"hook/{TOKEN}") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def wait(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The payloads once at least `n` arrived (AssertionError after `timeout`)."""
        deadline = time.monotonic() + timeout
        with self.cv:
            while len(self.posts) < n:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.posts)} of {n} pushes arrived: {[p['title'] for _, p in self.posts]}"
                self.cv.wait(left)
            return [p for _, p in self.posts]

    def payloads(self, path: str | None = None) -> list[dict[str, Any]]:
        with self.cv:
            return [p for pa, p in self.posts if path is None or pa.strip("/") == path.strip("/")]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def sample_figures() -> dict[str, dict[str, Any]]:
    """Realistic figures for every event of the catalog (what each source journals)."""
    return {
        "halt": {"equity": 9590.0, "peak": 10001.0, "drawdown_pct": 4.11, "halt_level_pct": 4.0},
        "daily_stop": {"equity": 9700.0, "day_start": 10000.0, "loss_pct": 3.0, "limit_pct": 3.0},
        "daily_reset": {"day": "2026-03-03"},
        "emergency_on": {"file": "/tmp/aml100_emergency_stop"},
        "emergency_off": {"file": "/tmp/aml100_emergency_stop"},
        "breaker_open": {"failures": 3, "until_ms": 1_772_500_060_000},
        "breaker_closed": {},
        "paused": {"reason": "autopilot cycle 4: CRITICAL"},
        "resumed": {"reason": "operator"},
        "feed_lost": {"why": "no message for 30.0 s"},
        "feed_restored": {"reconnects": 2, "down_s": 95.0},
        "reconcile_diff": {
            "why": "position",
            "diffs": [{"kind": "venue_flat"}],
            "venue_size": 0.0,
            "local_size": 0.5,
            "cancelled": 2,
            "placed": 0,
        },
        "order_refused": {
            "error": "Insufficient margin to place order",
            "is_buy": True,
            "size": 0.5,
            "limit_px": 20_210.0,
            "reason": "open",
        },
        "exchange_unavailable": {"error": "HTTP 502 after 3 attempts"},
        "trader_started": {
            "mode": "paper",
            "coin": "xyz:XYZ100",
            "policy_id": "rules",
            "strategy": "rules",
            "legs": 0,
            "resumed": False,
        },
        "trader_restarted": {"pid": 4242, "last_update_ms": 1_772_400_000_000, "legs": 1},
        "trader_stopped": {"flatten": True, "legs": 0},
        "restart_gap": {
            "from": 1_772_400_060_000,
            "to": 1_772_400_900_000,
            "bars": 15,
            "covered": 15,
            "missing": 0,
            "backfilled": "rest candleSnapshot (warm-up history)",
            "traded": False,
        },
        "journal_torn": {
            "file": "journal-2026-03-02.jsonl",
            "bytes": 17,
            "kept": "/runs/live/xyz_XYZ100/0xabc/journal-2026-03-02.jsonl.torn-20260302T101500",
        },
        "state_rebuilt": {
            "why": "not readable as JSON (Expecting value)",
            "file": "/runs/state.json",
            "kept": "/runs/state.json.bad-20260302T101500",
            "records": 5123,
            "legs": 1,
            "legs_from": "status.json",
            "fills": 12,
            "trades": 5,
            "halted": False,
        },
        "step_failed": {"error": "ValueError: boom"},
        "control_refused": {"id": "17-ab", "error": "'size' needs a number 'multiplier'"},
        "swap": {"old": "rules", "new": "ppo-7", "reason": "autopilot cycle 7"},
        "swap_failed": {"spec": "/no/such/checkpoint", "error": "not found", "current": "rules"},
        "grade_changed": {
            "cycle": 4,
            "old": "POOR",
            "new": "CRITICAL",
            "reasons": ["max drawdown 5.2 % >= 5 %"],
            "policy": "rules",
            "judge_days": 3.0,
            "sharpe": -2.1,
            "max_drawdown_pct": 5.2,
            "n_trades": 40,
            "actions": ["pause"],
            "trader": True,
            "improve": True,
        },
        "promoted": {
            "cycle": 7,
            "id": "ppo-7",
            "kind": "ppo",
            "test_sharpe": 1.42,
            "live_sharpe": 0.8,
            "margin": 0.1,
            "monthly_return_pct": 3.1,
            "max_drawdown_pct": 2.0,
            "profit_factor": 1.4,
            "n_trades": 85,
            "swapped": True,
            "old": "rules",
            "resumed": True,
        },
        "promotion_refused": {
            "cycle": 5,
            "refused": [{"id": "rules-params-1", "why": "gate: ['sharpe']"}],
            "policy": "rules",
        },
        "sweep_failed": {
            "cycle": 6,
            "what": "execution sweep ap-c6-exec (8 trials of rules)",
            "error": "RuntimeError: all trials failed",
            "cycle_hours": 1.0,
        },
        "training_failed": {
            "cycle": 6,
            "what": "retrain of ppo (4000 steps)",
            "error": "MemoryError",
            "cycle_hours": 1.0,
        },
        "cycle_failed": {"cycle": 8, "step": "judge", "error": "DataError: no bars", "cycle_hours": 1.0},
    }
