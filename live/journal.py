"""The live journal: append-only JSON lines, one file per UTC day, crash-safe; plus status and state snapshots.

Each record is one line `{"ts": wall ms, "kind": ..., ...}` written with flush + fsync before `write` returns, so a
record that was acknowledged is on disk. A crash can at worst leave a torn last line, which readers skip (and count).
Records written during a bar reach the file at once and are fsynced before any order is sent and at the end of the
bar. `status.json` (what monitors read) and `state.json` (what a restarted trader resumes from) are replaced atomically.
Secrets never reach it: every line passes the signer's `keys.Redactor`. Record kinds and fields: docs/LIVE.md.
`alert()` keeps what an operator should look at (the newest 50, with the journal's clock) for the trader's status.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cluster.atomic import atomic_write_json
from live.keys import Redactor

STATUS_FILE = "status.json"
STATE_FILE = "state.json"
JOURNAL_GLOB = "journal-*.jsonl"


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def clean(obj: Any) -> Any:
    """JSON-safe copy: numpy scalars as Python numbers, NaN and infinities as None."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, str | bytes):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _default(obj: Any) -> Any:
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)


class Journal:
    """Append records to `<root>/journal-YYYY-MM-DD.jsonl` (UTC day of the wall clock)."""

    def __init__(self, root: str | Path, clock: Any = time.time, redactor: Redactor | None = None) -> None:
        self.root = Path(root)
        self.redact = redactor or Redactor()
        self.root.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self._fh: Any = None
        self._day: str | None = None
        self._dirty = False
        self.alerts: deque[dict[str, Any]] = deque(maxlen=50)

    def alert(self, kind: str, detail: dict[str, Any]) -> None:
        """Something an operator should look at (a risk event, an order error, a reconcile difference, ...)."""
        self.alerts.append({"ts": int(self.clock() * 1000), "kind": kind, **detail})

    def write(self, kind: str, durable: bool = True, **fields: Any) -> dict[str, Any]:
        """Append one record; returns it. It reaches the file at once (a killed process loses nothing); `durable`
        also fsyncs it, and with it every record before it (power loss). Orders and acks are always durable before
        the trader goes on; the bar's other records are fsynced at the latest at the end of the bar (`sync`)."""
        now = int(self.clock() * 1000)
        record = clean({"ts": now, "kind": kind, **fields})
        line = self.redact(json.dumps(record, default=_default, separators=(",", ":"), allow_nan=False))
        day = _day(now)
        if day != self._day:
            self.close()
            self._fh = open(self.root / f"journal-{day}.jsonl", "a", encoding="utf-8")  # noqa: SIM115
            self._day = day
        self._fh.write(line + "\n")
        self._fh.flush()
        if durable:
            os.fsync(self._fh.fileno())
        self._dirty = not durable
        return record

    def sync(self) -> None:
        """fsync what was written without `durable`."""
        if self._fh is not None and self._dirty:
            os.fsync(self._fh.fileno())
            self._dirty = False

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def write_status(self, status: dict[str, Any]) -> None:
        text = json.dumps(clean(status), default=_default, allow_nan=False)
        atomic_write_json(self.root / STATUS_FILE, json.loads(self.redact(text)))

    def write_state(self, state: dict[str, Any]) -> None:
        text = json.dumps(clean(state), default=_default, allow_nan=False)
        atomic_write_json(self.root / STATE_FILE, json.loads(self.redact(text)))

    def read_state(self) -> dict[str, Any] | None:
        path = self.root / STATE_FILE
        return json.loads(path.read_text()) if path.is_file() else None


def read_records(root: str | Path, since_ms: int | None = None, kinds: set[str] | None = None) -> Iterator[dict]:
    """Journal records in time order (all days), skipping torn lines; optionally only `kinds` and ts >= since_ms."""
    for path in sorted(Path(root).glob(JOURNAL_GLOB)):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # a torn last line after a crash
                if since_ms is not None and rec.get("ts", 0) < since_ms:
                    continue
                if kinds is not None and rec.get("kind") not in kinds:
                    continue
                yield rec


def read_status(root: str | Path) -> dict[str, Any] | None:
    path = Path(root) / STATUS_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
