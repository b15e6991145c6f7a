"""Delivery: one worker thread per URL, so a dead endpoint delays nothing else, least of all a bar.

`TargetWorker.submit` only queues (never blocks); the worker sends with apprise (`notify(..., timeout=)`), and a
failure (connection refused, a timeout, an HTTP error) is tried again after `alerts.retry_first_seconds`, doubling up
to `alerts.retry_max_seconds`, until `alerts.give_up_after_hours` have passed since the first try. Every outcome
(sent, failed and when it is tried again, given up) goes to the results queue the dispatcher reads; error texts
pass the targets' redactor first, so no URL or token reaches a record or a log.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from live.alerts.config import AlertsConfig
from live.alerts.targets import Target, TargetError, build_notifier
from live.keys import Redactor

NOTIFY_TYPE = {"info": "info", "warning": "warning", "critical": "failure"}  # apprise's NotifyType values


@dataclass(frozen=True)
class Outcome:
    """One delivery attempt's result, for the dispatcher (status: sent | failed | gave_up)."""

    status: str
    target: str
    message_id: str
    event: str
    attempt: int
    error: str | None = None
    retry_in_s: float | None = None
    seconds: float = 0.0


def send_once(app: Any, msg: dict[str, Any], timeout_s: float, redact: Redactor) -> tuple[bool, str | None]:
    """One apprise delivery of `msg` (title, body, level): (ok, the error without secrets)."""
    try:
        result = app.notify(body=msg["body"], title=msg["title"], notify_type=NOTIFY_TYPE.get(msg["level"], "info"),
                            timeout=timeout_s)  # fmt: skip
    except Exception as exc:  # apprise raises on a message it cannot use; never let it kill the worker
        return False, redact(f"{type(exc).__name__}: {exc}")
    if result:
        return True, None
    texts = [e.message for e in result.logs() if getattr(e, "message", None)]
    status = getattr(getattr(result, "status", None), "name", "FAILURE")
    return False, redact("; ".join(texts[-3:]) or f"apprise: {status}")


class TargetWorker:
    """Sends to one target on its own daemon thread (see the module docstring)."""

    def __init__(
        self,
        target: Target,
        cfg: AlertsConfig,
        results: queue.Queue[Outcome],
        redact: Redactor,
        clock: Callable[[], float] = time.time,
        notifier: Callable[[Target, float], Any] = build_notifier,
    ) -> None:
        self.target, self.cfg, self.results, self.redact, self.clock = target, cfg, results, redact, clock
        self._notifier, self._app, self._unusable = notifier, None, False
        self._heap: list[tuple[float, int, dict[str, Any], int, float]] = []  # (due, seq, msg, attempt, first try)
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._stop = False
        self._busy = False
        self._thread = threading.Thread(target=self._run, name=f"alerts-{target.scheme}", daemon=True)
        self._thread.start()

    def submit(self, msg: dict[str, Any]) -> None:
        """Queue `msg` for delivery now (returns at once)."""
        with self._cv:
            heapq.heappush(self._heap, (self.clock(), next(self._seq), msg, 1, self.clock()))
            self._cv.notify()

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing being sent."""
        with self._cv:
            return not self._heap and not self._busy

    def stop(self, wait_s: float = 2.0) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify()
        self._thread.join(wait_s)

    def _next(self) -> tuple[dict[str, Any], int, float] | None:
        with self._cv:
            while not self._stop:
                now = self.clock()
                if self._heap and self._heap[0][0] <= now:
                    _, _, msg, attempt, first = heapq.heappop(self._heap)
                    self._busy = True
                    return msg, attempt, first
                self._cv.wait(min(1.0, self._heap[0][0] - now) if self._heap else 1.0)
        return None

    def _run(self) -> None:
        while (job := self._next()) is not None:
            msg, attempt, first = job
            t0 = time.monotonic()
            try:
                ok, error = self._deliver(msg)
            finally:
                with self._cv:
                    self._busy = False
            took = round(time.monotonic() - t0, 3)
            out = {"target": self.target.name, "message_id": msg["id"], "event": msg["event"], "attempt": attempt,
                   "seconds": took}  # fmt: skip
            if ok:
                self.results.put(Outcome("sent", **out))
                continue
            if self._unusable or self.clock() - first >= self.cfg.give_up_after_hours * 3600:
                self.results.put(Outcome("gave_up", **out, error=error))
                continue
            delay = min(self.cfg.retry_first_seconds * 2 ** (attempt - 1), self.cfg.retry_max_seconds)
            with self._cv:
                heapq.heappush(self._heap, (self.clock() + delay, next(self._seq), msg, attempt + 1, first))
            self.results.put(Outcome("failed", **out, error=error, retry_in_s=delay))

    def _deliver(self, msg: dict[str, Any]) -> tuple[bool, str | None]:
        if self._app is None:
            try:
                self._app = self._notifier(self.target, self.cfg.send_timeout_seconds)
            except TargetError as exc:  # a URL apprise refuses never works: give up at once
                self._unusable = True
                return False, self.redact(str(exc))
        return send_once(self._app, msg, self.cfg.send_timeout_seconds, self.redact)
