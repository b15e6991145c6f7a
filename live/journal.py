"""The live journal: append-only JSON lines, one file per UTC day, crash-safe; plus status and state snapshots.

Each record is one line `{"ts": wall ms, "kind": ..., ...}` written with flush + fsync before `write` returns, so a
record that was acknowledged is on disk. Records written during a bar reach the file at once and are fsynced before
any order is sent and at the end of the bar. `status.json` (what monitors read) and `state.json` (what a restarted
trader resumes from) are replaced atomically. Secrets never reach it: every line passes the signer's
`keys.Redactor`. Record kinds and fields: docs/LIVE.md.

A crash mid-write can leave a torn last line (no newline). A `Journal` heals its folder when it opens: the torn
bytes are moved aside to `<journal file>.torn-<UTC time>` (kept, never deleted) and the file is cut back to its last
whole line, so the next record starts on a new line and is never glued onto the torn one (`healed` lists what was
moved; the trader alerts about it). Readers (`read_records`, `read_lines`) skip a line that does not parse and count
it; a record glued after a torn line by an older writer is salvaged, not lost.

`alert()` is what a person should look at: journalled as an `alert` record {event, level, one-line message,
figures} (level and message from the catalog, `live.alerts.events`, unless given) and kept for the trader's status
(the newest 50). The status, the dashboard, the monitor and the pushes (`live.alerts`) all read these records.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cluster.atomic import atomic_path, atomic_write_json
from live.alerts.events import describe
from live.keys import Redactor

log = logging.getLogger(__name__)
STATUS_FILE = "status.json"
STATE_FILE = "state.json"
JOURNAL_GLOB = "journal-*.jsonl"
ALERT_LEVELS = ("critical", "warning", "info")


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


def _stamp(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y%m%dT%H%M%S")


@dataclass(frozen=True)
class TornTail:
    """Bytes a crash left after the last whole line of a journal file, moved aside to `kept`."""

    file: Path
    kept: Path
    size: int  # bytes moved

    def figures(self) -> dict[str, Any]:
        """The `journal_torn` alert's figures."""
        return {"file": self.file.name, "kept": str(self.kept), "bytes": self.size}


def _last_newline(fh: Any, size: int, block: int = 1 << 16) -> int:
    """Offset of the last b"\\n" of a file opened in binary mode (-1 when there is none)."""
    end = size
    while end > 0:
        start = max(0, end - block)
        fh.seek(start)
        i = fh.read(end - start).rfind(b"\n")
        if i >= 0:
            return start + i
        end = start
    return -1


def heal_torn_tail(path: Path, now_ms: int) -> TornTail | None:
    """When `path` does not end with a newline (a crash mid-write), move the bytes after its last newline to
    `<path>.torn-<UTC time>` (written and fsynced first) and cut the file back to that newline; None when whole."""
    with open(path, "rb+") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return None
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return None
        cut = _last_newline(fh, size) + 1
        fh.seek(cut)
        torn = fh.read(size - cut)
        kept = path.with_name(f"{path.name}.torn-{_stamp(now_ms)}")
        n = 1
        while kept.exists():
            n += 1
            kept = path.with_name(f"{path.name}.torn-{_stamp(now_ms)}-{n}")
        with atomic_path(kept) as tmp:
            tmp.write_bytes(torn)
        fh.truncate(cut)
        fh.flush()
        os.fsync(fh.fileno())
    return TornTail(path, kept, len(torn))


class StateFileError(ValueError):
    """`state.json` exists but cannot be resumed (the message names the file and what is wrong with it)."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"{path}: {why}")
        self.path, self.why = path, why


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
        now = int(clock() * 1000)
        self.healed: list[TornTail] = [
            t for t in (heal_torn_tail(p, now) for p in sorted(self.root.glob(JOURNAL_GLOB))) if t is not None
        ]

    def alert(
        self, event: str, figures: dict[str, Any] | None = None, level: str | None = None, message: str | None = None
    ) -> dict[str, Any]:
        """Something a person should look at (a risk event, a refused order, a reconcile difference, a healed file,
        ...): journalled as an `alert` record {event, level (critical/warning/info), message (one line: what
        happened, the figure, what the system did, what to do), figures}, the level and message from
        `live.alerts.events` unless given, and kept for the status. Returns the record."""
        figures = clean(dict(figures or {}))
        lvl, msg = describe(event, figures)
        now = int(self.clock() * 1000)
        rec = {"ts": now, "kind": "alert", "event": event, "level": level or lvl, "message": message or msg,
               "figures": figures}  # fmt: skip
        try:
            rec = self.write("alert", event=event, level=rec["level"], message=rec["message"], figures=figures)
        except (OSError, ValueError, TypeError) as exc:  # the alert stays in the status even when the journal fails
            log.error("could not journal alert %s: %s", event, exc)
        self.alerts.append({k: rec[k] for k in ("ts", "event", "level", "message")})
        return rec

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
        """The saved state, or None when there is none; `StateFileError` (naming the file and what is wrong) when
        it cannot be read as a JSON object."""
        path = self.root / STATE_FILE
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise StateFileError(path, f"not readable as JSON ({exc})") from None
        if not isinstance(data, dict):
            raise StateFileError(path, f"holds a JSON {type(data).__name__}, not an object")
        return data

    def set_aside_state(self) -> Path | None:
        """Move a state file that cannot be resumed to `state.json.bad-<UTC time>` (kept for a person to look at:
        the next save would overwrite it); its new path, or None when there was none."""
        path = self.root / STATE_FILE
        if not path.is_file():
            return None
        kept = path.with_name(f"{STATE_FILE}.bad-{_stamp(int(self.clock() * 1000))}")
        os.replace(path, kept)
        return kept


def parse_line(line: str) -> tuple[dict[str, Any] | None, str]:
    """One JSON-lines line as (record, how): "ok"; "blank"; "torn" (not a whole record: skipped); "salvaged" (a
    whole record glued after a torn one, as writers before the heal-on-open left it: the torn part is dropped, the
    record kept). Salvage takes the first `{"` from which the rest of the line is exactly one JSON object."""
    text = line.strip()
    if not text:
        return None, "blank"
    try:
        rec = json.loads(text)
        return (rec, "ok") if isinstance(rec, dict) else (None, "torn")
    except ValueError:
        pass
    i = text.find('{"', 1)
    while i > 0:
        try:
            rec = json.loads(text[i:])
        except ValueError:
            i = text.find('{"', i + 1)
            continue
        return (rec, "salvaged") if isinstance(rec, dict) else (None, "torn")
    return None, "torn"


def read_lines(path: str | Path, counts: Counter | None = None) -> Iterator[dict[str, Any]]:
    """The records of one JSON-lines file in order; lines that are not whole records are skipped and counted in
    `counts` ("torn", "salvaged"), never glued to the next."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            rec, how = parse_line(line)
            if counts is not None and how in ("torn", "salvaged"):
                counts[how] += 1
            if rec is not None:
                yield rec


def read_records(
    root: str | Path, since_ms: int | None = None, kinds: set[str] | None = None, counts: Counter | None = None
) -> Iterator[dict]:
    """Journal records in time order (all days); optionally only `kinds` and ts >= since_ms. Torn lines are skipped
    (counted in `counts`, see `read_lines`)."""
    for path in sorted(Path(root).glob(JOURNAL_GLOB)):
        for rec in read_lines(path, counts):
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
