"""Seeded, reproducible fault injection: HTTP 500/429, latency, order rejects, WebSocket drops, frozen feed."""

from __future__ import annotations

import random

from live.paper_exchange.config import FaultConfig


class FaultInjector:
    """Independent random streams per fault kind, so one kind's draws never shift another's sequence."""

    def __init__(self, cfg: FaultConfig) -> None:
        self.cfg = cfg
        self.http_rng = random.Random(cfg.seed * 1_000_003 + 1)
        self.reject_rng = random.Random(cfg.seed * 1_000_003 + 2)
        self.counts = {"500": 0, "429": 0, "requests": 0, "ws_drops": 0}

    def http_fault(self) -> int | None:
        """One draw per /info or /exchange request: 500, 429 or None."""
        self.counts["requests"] += 1
        if self.cfg.fail_rate <= 0 and self.cfg.rate_limit_rate <= 0:
            return None
        u = self.http_rng.random()
        if u < self.cfg.fail_rate:
            self.counts["500"] += 1
            return 500
        if u < self.cfg.fail_rate + self.cfg.rate_limit_rate:
            self.counts["429"] += 1
            return 429
        return None

    @property
    def latency_s(self) -> float:
        return max(0.0, self.cfg.latency_ms) / 1000.0
