"""The dispatcher: tails one folder's journal for `alert` records and pushes what the policy lets through.

It runs on a background thread of the command that owns the journal (the trader's process or Ray actor, the
autopilot) or in `python -m live.alerts run`; whoever holds `<folder>/alerts/dispatch.lock` dispatches that folder,
so no alert goes out twice. The trader itself never waits for it: it only appends records, as before.

`<folder>/alerts/state.json` (replaced atomically at start and whenever anything changed: an alert read, a delivery,
a window; a reading position that passed no alert at most every 30 s) holds where the reading stopped (journal file
and byte offset, complete lines only), the policy's state (rate windows, a held feed loss, the quiet-hours queue,
the last summary day) and the messages not yet delivered to every URL, so a restart neither loses nor repeats a push
(at most the one message in flight when the process died goes out again). A fresh state starts at the journal's end:
history is not pushed. Every delivery outcome (sent, failed with its retry time, given up) is a `delivery` record in
`<folder>/alerts/journal-*.jsonl`, never an alert, so a dead endpoint cannot feed a loop.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cluster.atomic import atomic_write_json
from live.alerts.config import AlertsConfig
from live.alerts.policy import Policy, Push
from live.alerts.sender import Outcome, TargetWorker
from live.alerts.targets import Target, build_notifier, guard_apprise_logging
from live.journal import JOURNAL_GLOB, Journal, parse_line

log = logging.getLogger("live.alerts")
STATE_VERSION = 1
ALERTS_DIR = "alerts"
_ALERT = b'"kind":"alert"'
LOCK_RETRY_S = 5.0
POSITION_SAVE_S = 30.0  # how often a reading position that passed no alert is saved (an alert saves at once)

Summary = Callable[[int], tuple[str, str]]  # now ms -> (level, body) of the daily summary


class JournalTail:
    """New `alert` records of `root`'s journal files, in order, each once; `position` ({file, offset}) persists it."""

    def __init__(self, root: Path, position: dict[str, Any] | None) -> None:
        self.root = root
        self.file: str | None = (position or {}).get("file")
        self.offset: int = int((position or {}).get("offset") or 0)

    @property
    def position(self) -> dict[str, Any]:
        return {"file": self.file, "offset": self.offset}

    @classmethod
    def at_end(cls, root: Path) -> JournalTail:
        files = sorted(root.glob(JOURNAL_GLOB))
        return cls(root, {"file": files[-1].name, "offset": files[-1].stat().st_size} if files else None)

    def read(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        files = sorted(self.root.glob(JOURNAL_GLOB))
        for i, path in enumerate(files):
            if self.file is not None and path.name < self.file:
                continue
            start = self.offset if path.name == self.file else 0
            try:
                size = path.stat().st_size
            except OSError:
                continue
            start = min(start, size)  # a tail cut back by a repair: carry on from its new end
            if size > start:
                with open(path, "rb") as fh:
                    fh.seek(start)
                    data = fh.read(size - start)
                newest = i == len(files) - 1
                end = data.rfind(b"\n") + 1 if newest else len(data)  # an older file's torn tail is never finished
                out += [r for r in (_alert_of(line) for line in data[:end].splitlines()) if r is not None]
                start += end
            self.file, self.offset = path.name, start
        return out


def _alert_of(line: bytes) -> dict[str, Any] | None:
    """The `alert` record of one journal line (one parse rule with every reader: `live.journal.parse_line`, which
    also salvages a record appended to a torn line), else None."""
    if _ALERT not in line:
        return None
    rec, _ = parse_line(line.decode("utf-8", errors="replace"))
    return rec if rec is not None and rec.get("kind") == "alert" else None


class Dispatcher:
    """Pushes the alert records of the journal in `root` to `targets` (see the module docstring)."""

    def __init__(
        self,
        root: str | Path,
        label: str,
        cfg: AlertsConfig,
        targets: list[Target],
        summary: Summary | None = None,
        clock: Callable[[], float] = time.time,
        notifier: Callable[[Target, float], Any] = build_notifier,
        start_at_end: bool = True,
    ) -> None:
        self.root, self.label, self.cfg, self.targets = Path(root), label, cfg, list(targets)
        self.start_at_end = start_at_end  # without a saved state: skip the journal's history (False: push it all)
        self.dir = self.root / ALERTS_DIR
        self.summary, self.clock, self.notifier = summary, clock, notifier
        self.redact = guard_apprise_logging(self.targets)
        self.results: queue.Queue[Outcome] = queue.Queue()
        self.workers: dict[str, TargetWorker] = {}
        self.pending: dict[str, dict[str, Any]] = {}
        self.opened = False
        self._lock: Any = None
        self._next_lock_try = 0.0
        self._seq = 0
        self._dirty = False
        self._saved_at = 0.0
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self.deliveries: Journal | None = None
        self.tail: JournalTail | None = None
        self.policy: Policy | None = None

    # --- lifecycle ------------------------------------------------------------------------------------------------
    def start(self) -> Dispatcher:
        self._thread = threading.Thread(target=self._loop, name="alerts-dispatcher", daemon=True)
        self._thread.start()
        return self

    def stop(self, flush_s: float = 10.0) -> None:
        """Stop reading; give deliveries under way up to `flush_s` to finish; keep the rest for the next start."""
        self._halt.set()
        if self._thread is not None:
            self._thread.join(max(5.0, self.cfg.poll_seconds * 2))
        deadline = time.monotonic() + flush_s
        while self.opened and time.monotonic() < deadline:
            self.run_once()
            if not self.pending and all(w.idle for w in self.workers.values()):
                break
            time.sleep(0.05)
        for w in self.workers.values():
            w.stop()
        if self.opened:
            self._drain()
            self._save()
            self.deliveries.close()
            self._lock.release()
            self.opened = False

    def _loop(self) -> None:
        while not self._halt.is_set():
            try:
                self.run_once()
            except Exception as exc:  # keep pushing; say what failed without a URL in it
                log.error("alerts: dispatcher turn failed: %s", self.redact("".join(traceback.format_exception(exc))))
            self._halt.wait(self.cfg.poll_seconds)

    def _open(self) -> bool:
        """Take the folder's dispatch lock (another process may hold it: try again later), then load the state."""
        from filelock import FileLock, Timeout

        if self.clock() < self._next_lock_try:
            return False
        self.dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.dir / "dispatch.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            self._next_lock_try = self.clock() + LOCK_RETRY_S
            return False
        self._lock = lock
        state = self._read_state()
        if state:
            self.tail = JournalTail(self.root, state["tail"])
        else:
            self.tail = JournalTail.at_end(self.root) if self.start_at_end else JournalTail(self.root, None)
        self.policy = Policy(self.cfg, self.label, state.get("policy") if state else None)
        self.pending = dict(state.get("pending") or {}) if state else {}
        self._seq = int(state.get("seq") or 0) if state else 0
        self.deliveries = Journal(self.dir, clock=self.clock, redactor=self.redact)
        self.workers = {t.name: TargetWorker(t, self.cfg, self.results, self.redact, self.clock, self.notifier)
                        for t in self.targets}  # fmt: skip
        for msg in self.pending.values():  # undelivered before the last stop or crash
            msg["targets"] = [n for n in msg["targets"] if n in self.workers]
            for name in msg["targets"]:
                self.workers[name].submit(msg)
        self.opened = True
        self._save()  # from here on nothing written to the journal can be skipped, even after a crash
        return True

    def _read_state(self) -> dict[str, Any] | None:
        try:
            st = json.loads((self.dir / "state.json").read_text())
        except (OSError, ValueError):
            return None
        return st if isinstance(st, dict) and st.get("version") == STATE_VERSION else None

    def _save(self) -> None:
        atomic_write_json(self.dir / "state.json", {"version": STATE_VERSION, "tail": self.tail.position,
                                                    "policy": self.policy.state(), "pending": self.pending,
                                                    "seq": self._seq, "label": self.label})  # fmt: skip
        self._dirty = self.policy.dirty = False
        self._saved_at = time.monotonic()

    # --- one turn -------------------------------------------------------------------------------------------------
    def run_once(self, now_ms: int | None = None) -> None:
        """Read new alert records, apply the policy, queue the pushes, take in delivery outcomes, save."""
        if not self.opened and not self._open():
            return
        now = int(self.clock() * 1000) if now_ms is None else now_ms
        before = self.tail.position
        for rec in self.tail.read():
            self._queue(self.policy.offer(rec, now))
        self._queue(self.policy.tick(now))
        day = self.policy.summary_due(now)
        if day is not None:
            self.policy.mark_summary(day)
            if self.summary is not None:
                self._queue([self._daily(day, now)])
        self._drain()
        if self._dirty or self.policy.dirty:
            self._save()
        elif self.tail.position != before and time.monotonic() - self._saved_at >= POSITION_SAVE_S:
            self._save()  # lines without an alert only: re-reading them after a crash pushes nothing

    def _daily(self, day: str, now: int) -> Push:
        try:
            level, body = self.summary(now)
        except Exception as exc:  # the summary is a courtesy: a broken one still says so
            level, body = "warning", self.redact(f"the daily summary could not be made: {type(exc).__name__}: {exc}")
        return self.policy.push_of("daily_summary", level, body, now, title=f"daily summary {day}")

    def _queue(self, pushes: list[Push]) -> None:
        for p in pushes:
            names = [t.name for t in self.targets if t.wants(p.level)]
            if not names:
                continue
            self._seq += 1
            msg = {**p.to_dict(), "id": f"{self._seq}-{p.event}", "targets": names}
            self.pending[msg["id"]] = msg
            self._dirty = True
            for name in names:
                self.workers[name].submit(msg)

    def _drain(self) -> None:
        while True:
            try:
                out = self.results.get_nowait()
            except queue.Empty:
                return
            rec = {k: v for k, v in out.__dict__.items() if v is not None}
            self.deliveries.write("delivery", durable=out.status != "sent", **rec)
            if out.status == "failed" and out.attempt == 1:
                log.warning("alerts: %s: delivery of %s failed (%s); retrying in %.1f s", out.target, out.event,
                            out.error, out.retry_in_s or 0)  # fmt: skip
            elif out.status == "gave_up":
                log.error("alerts: %s: gave up delivering %s after %d attempts (%s)", out.target, out.event,
                          out.attempt, out.error)  # fmt: skip
            if out.status in ("sent", "gave_up"):
                msg = self.pending.get(out.message_id)
                if msg is not None:
                    msg["targets"] = [n for n in msg["targets"] if n != out.target]
                    if not msg["targets"]:
                        del self.pending[out.message_id]
                self._dirty = True
