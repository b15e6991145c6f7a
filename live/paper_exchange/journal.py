"""Write-ahead journal: nothing is acknowledged before the input that caused it is on disk.

Every state-changing input (a signed action with its signer and nonce, one replay step, a funding, a freeze) is
appended as one JSON line with a sequence number, in the order the engine applies it. Writes are group-committed:
one writer task flushes whatever has queued, `fdatasync`s it in a worker thread, and only then wakes the requests
waiting on those entries, so many concurrent actions share one sync. After a crash the server loads the last
snapshot (`state.py`) and re-applies every journal entry newer than it; since the engine is deterministic given its
inputs, the state comes back exactly, acknowledged fills and used nonces included.

A snapshot is written by the same writer task (never concurrently with a flush); once it is on disk the journal is
truncated. A torn last line (the process died mid-write) was never acknowledged and is ignored; a bad line anywhere
else means the file is damaged, and loading refuses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from live.paper_exchange.state import save_state_text

log = logging.getLogger("paper_exchange")


class JournalError(RuntimeError):
    """The journal cannot be opened or read (in use by another server, damaged)."""


def journal_path(state_path: str | Path) -> Path:
    return Path(str(state_path) + ".journal")


def read_journal(path: str | Path) -> list[dict[str, Any]]:
    """Entries in order; a torn final line is dropped, damage elsewhere raises JournalError."""
    path = Path(path)
    if not path.exists():
        return []
    lines = path.read_bytes().split(b"\n")
    out: list[dict[str, Any]] = []
    for i, line in enumerate(lines):
        if not line:
            continue
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict) or not isinstance(entry.get("q"), int):
                raise ValueError("not a journal entry")
        except ValueError as exc:
            if i == len(lines) - 1:  # torn last line: written, never synced, never acknowledged
                break
            raise JournalError(f"{path}: line {i + 1} is damaged ({exc}); restore the file or remove it") from None
        out.append(entry)
    return out


class Journal:
    """Append-only, group-committed journal next to the state file; holds an exclusive lock on it."""

    def __init__(
        self,
        state_path: str | Path,
        snapshot: Callable[[], str],
        first_seq: int,
        *,
        fsync: bool,
        snapshot_every_s: float,
        snapshot_every_entries: int,
    ) -> None:
        self.state_path = Path(state_path)
        self.path = journal_path(state_path)
        self._snapshot = snapshot
        self._fsync = fsync
        self.snapshot_every_s = snapshot_every_s
        self.snapshot_every_entries = snapshot_every_entries
        self.seq = self.durable = first_seq
        self._buf: list[bytes] = []
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.failed: JournalError | None = None  # set when a write failed: nothing more is acknowledged
        self._timer: asyncio.TimerHandle | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="journal")
        self._since_snapshot = 0
        self._last_snapshot = time.monotonic()
        self.snapshots = 0
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise JournalError(f"cannot open the journal {self.path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._fd)
            raise JournalError(
                f"{self.state_path} is in use by another paper exchange (its journal {self.path} is locked)"
            ) from None

    # --- appending (event loop thread, synchronous) -----------------------------------------------------------
    def append(self, entry: dict[str, Any]) -> int:
        """Queue one entry; returns its sequence number (wait for it with `durable_after`)."""
        if self.failed is not None:
            raise self.failed
        self.seq += 1
        entry["q"] = self.seq
        self._buf.append(json.dumps(entry, separators=(",", ":")).encode() + b"\n")
        self._since_snapshot += 1
        if self._wake is not None:
            self._wake.set()
        return self.seq

    async def durable_after(self, seq: int | None = None) -> None:
        """Return once entry `seq` (default: the latest) is on disk."""
        seq = self.seq if seq is None else seq
        if self.durable >= seq:
            return
        if self.failed is not None:
            raise self.failed
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((seq, fut))
        await fut

    # --- the writer task --------------------------------------------------------------------------------------
    def start(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._writer())
        if self._buf:
            self._wake.set()

    async def _writer(self) -> None:
        loop = asyncio.get_running_loop()
        wake = self._wake
        assert wake is not None

        def tick() -> None:  # wakes the writer now and then, so a quiet server still snapshots on time
            wake.set()
            self._timer = loop.call_later(max(0.05, self.snapshot_every_s / 4), tick)

        tick()
        try:
            while not self._closing and self.failed is None:
                await wake.wait()
                wake.clear()
                if self._snapshot_due() and await self._write_snapshot(loop):
                    continue
                if self._buf:
                    data, self._buf = b"".join(self._buf), []
                    target = self.seq  # everything queued so far is in `data`
                    try:
                        await loop.run_in_executor(self._pool, self._write, data)
                    except OSError as exc:
                        self._fail(exc)
                        return
                    self._release(target)
        finally:
            self._timer.cancel()

    def _fail(self, exc: OSError) -> None:
        """A write failed (disk full, I/O error): refuse everything from now on, never acknowledge a lost input."""
        self.failed = JournalError(f"journal write failed ({exc.strerror or exc}): {self.path}; fix it and restart")
        log.error("%s", self.failed)
        for _, fut in self._waiters:
            if not fut.done():
                fut.set_exception(self.failed)
        self._waiters = []

    def _snapshot_due(self) -> bool:
        if self._since_snapshot == 0:
            return False
        return (
            self._since_snapshot >= self.snapshot_every_entries
            or time.monotonic() - self._last_snapshot >= self.snapshot_every_s
        )

    async def _write_snapshot(self, loop: asyncio.AbstractEventLoop) -> bool:
        try:
            text, target = self._snapshot(), self.seq  # the state after every entry up to `target`
        except ValueError:  # e.g. a non-finite number: keep journaling, never write a snapshot that lies
            log.exception("state snapshot refused; the journal keeps every change")
            self._since_snapshot, self._last_snapshot = 0, time.monotonic()
            return False
        buf, self._buf = self._buf, []  # covered by the snapshot
        self._since_snapshot = 0
        self._last_snapshot = time.monotonic()
        try:
            await loop.run_in_executor(self._pool, self._checkpoint, text)
        except OSError as exc:
            self._buf = buf + self._buf  # the snapshot did not land: keep journaling what it would have covered
            log.error("state snapshot failed (%s); the journal keeps every change", exc.strerror or exc)
            return False
        self.snapshots += 1
        self._release(target)
        return True

    def _write(self, data: bytes) -> None:
        os.write(self._fd, data)
        if self._fsync:
            os.fdatasync(self._fd)

    def _checkpoint(self, text: str) -> None:
        save_state_text(self.state_path, text)
        os.ftruncate(self._fd, 0)
        if self._fsync:
            os.fsync(self._fd)

    def _release(self, seq: int) -> None:
        self.durable = max(self.durable, seq)
        keep = []
        for s, fut in self._waiters:
            if s <= self.durable:
                if not fut.done():
                    fut.set_result(None)
            else:
                keep.append((s, fut))
        self._waiters = keep

    # --- shutdown ---------------------------------------------------------------------------------------------
    async def close(self) -> None:
        """Stop the writer, write a final snapshot, empty the journal and release the lock."""
        if self.failed is not None:
            self.release_lock()
            return
        if self._task is not None:
            self._closing = True
            assert self._wake is not None
            self._wake.set()
            await self._task  # finishes the write under way, never cut short
            self._task = None
        self._since_snapshot = max(self._since_snapshot, 1)
        loop = asyncio.get_running_loop()
        if not await self._write_snapshot(loop) and self._buf:
            data, self._buf, target = b"".join(self._buf), [], self.seq
            await loop.run_in_executor(self._pool, self._write, data)
            self._release(target)
        self.release_lock()
        self._pool.shutdown(wait=False)

    def checkpoint_now(self) -> None:
        """Synchronous snapshot + truncation (startup, before serving)."""
        self._checkpoint(self._snapshot())
        self._buf, self._since_snapshot = [], 0
        self.durable = self.seq

    def release_lock(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1
