"""One trader per venue, account and coin, wherever the traders run; and nonces no two signers' processes share.

Two traders on one account and coin would both trade it (each adopting the other's position) and sign with the same
wallet. The lock is keyed by the venue URL (normalised: `localhost` is `127.0.0.1`), the account and the coin, not by
a journal folder, and is taken where every trader can see it:

- **this machine**: a file `<runtime dir>/locks/trader-<key>.lock` held with `fcntl.flock` (the OS drops it when the
  process dies, kill -9 included) holding the holder's pid, host, journal folder, policy and start time, so a
  refusal names the running trader. The runtime dir is `$AML100_RUNTIME_DIR`, else `$XDG_RUNTIME_DIR/aml100`, else
  `~/.cache/aml100/run` (per user: two users' traders cannot share a wallet's key file anyway).
- **a Ray cluster**: when the process that takes the lock is connected to Ray, also the named actor
  `trader-lock-<key>` (namespace `aml100`). It is not detached: Ray ends it with the process that created it (a
  trader actor, or a driver), so a dead trader never holds it. Ray registers a name once, cluster-wide, so a trader
  on another node is refused too.

Nonces: HyperLiquid takes a signer's nonce once, above the smallest of its 100 highest (docs: the venue reference).
The SDK signs with the wall-clock millisecond; two processes signing for the same wallet (two coins of one account,
or a restart within the same millisecond) could collide. `NonceSource` hands out nonces `max(now_ms, last + 1)` from
a per-signer file under the same runtime dir, under `flock`, so they strictly increase across processes; `signing`
makes the SDK sign the next action with one (`hyperliquid.exchange.get_timestamp_ms` is the SDK's single time read
per action; this hook answers it from the thread's pending nonce and otherwise with the SDK's own clock).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RUNTIME_ENV = "AML100_RUNTIME_DIR"
LOCK_ACTOR_PREFIX = "trader-lock-"
_NONCE_WIDTH = 20  # the last nonce, zero-padded: one fixed-size write, never a torn number


def runtime_dir() -> Path:
    """Where this user's live locks and nonce files live (see the module docstring)."""
    if os.environ.get(RUNTIME_ENV):
        return Path(os.environ[RUNTIME_ENV]).expanduser()
    if os.environ.get("XDG_RUNTIME_DIR"):
        return Path(os.environ["XDG_RUNTIME_DIR"]) / "aml100"
    return Path.home() / ".cache" / "aml100" / "run"


def normal_url(base_url: str) -> str:
    """A venue URL as the lock keys it: lower case, no trailing slash, loopback names as 127.0.0.1."""
    url = base_url.strip().rstrip("/").lower()
    for name in ("localhost", "[::1]"):
        url = url.replace(f"://{name}", "://127.0.0.1")
    return url


def trader_key(base_url: str, account: str, coin: str) -> str:
    """The lock's key: a short hash of (venue URL, account, coin)."""
    text = f"{normal_url(base_url)}|{account.lower()}|{coin}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class LockHeld(RuntimeError):
    """Another trader holds the lock; `holder` says who (pid, host, journal, policy, started_ms, where)."""

    def __init__(self, holder: dict[str, Any]) -> None:
        super().__init__(f"held by {holder}")
        self.holder = holder


@dataclass
class TraderLock:
    """A held lock: release it when the trader stops (a dead process releases it by itself)."""

    key: str
    path: Path
    holder: dict[str, Any]
    fd: int | None = None
    actor: Any = None
    released: bool = field(default=False)

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        if self.actor is not None:
            import ray

            with contextlib.suppress(Exception):
                ray.kill(self.actor)
        if self.fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def _read_holder(fd: int) -> dict[str, Any]:
    for _ in range(20):  # the holder writes right after it took the lock: give it a moment
        raw = os.pread(fd, 1 << 16, 0)
        try:
            doc = json.loads(raw)
            if isinstance(doc, dict):
                return doc
        except ValueError:
            pass
        time.sleep(0.05)
    return {}


def _file_lock(path: Path, holder: dict[str, Any]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        other = _read_holder(fd)
        os.close(fd)
        raise LockHeld({**other, "where": f"lock file {path}"}) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(holder).encode(), 0)
    return fd


class _LockActor:
    """The cluster-wide lock: a named actor that only says who holds it."""

    def __init__(self, holder: dict[str, Any]) -> None:
        self._holder = holder

    def holder(self) -> dict[str, Any]:
        return self._holder


def _ray_lock(key: str, holder: dict[str, Any]) -> Any:
    import ray

    from cluster.connect import NAMESPACE

    name = LOCK_ACTOR_PREFIX + key
    cls = ray.remote(num_cpus=0, max_restarts=0)(_LockActor)
    try:
        return cls.options(name=name, namespace=NAMESPACE, lifetime=None).remote(holder)
    except ValueError:
        try:
            other = ray.get(ray.get_actor(name, namespace=NAMESPACE).holder.remote(), timeout=30)
        except Exception:  # it ended between the two calls, or does not answer: still refuse, and say so
            other = {}
        raise LockHeld({**other, "where": f"Ray actor {name} (namespace {NAMESPACE})"}) from None


def acquire_trader_lock(base_url: str, account: str, coin: str, holder: dict[str, Any]) -> TraderLock:
    """Take the lock of (venue, account, coin) for the trader described by `holder` (journal folder, policy, ...);
    `LockHeld` names the running one. On Ray (when this process is connected) the cluster-wide lock is taken too."""
    key = trader_key(base_url, account, coin)
    holder = {**holder, "pid": os.getpid(), "host": socket.gethostname(), "venue": normal_url(base_url),
              "account": account.lower(), "coin": coin, "started_ms": int(time.time() * 1000)}  # fmt: skip
    path = runtime_dir() / "locks" / f"trader-{key}.lock"
    lock = TraderLock(key, path, holder, fd=_file_lock(path, holder))
    try:
        import ray

        if ray.is_initialized():
            lock.actor = _ray_lock(key, holder)
    except BaseException:
        lock.release()
        raise
    return lock


# --- nonces ---------------------------------------------------------------------------------------------------------
class NonceSource:
    """Strictly increasing nonces for one signer on one venue: `max(now_ms, last + 1)`, the last one kept in a file
    under `flock` (shared by every process of this user), or in memory when `path` is None."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._last = 0
        self._mutex = threading.Lock()

    @classmethod
    def for_signer(cls, base_url: str, signer_address: str) -> NonceSource:
        key = hashlib.sha256(f"{normal_url(base_url)}|{signer_address.lower()}".encode()).hexdigest()[:16]
        return cls(runtime_dir() / "nonces" / f"signer-{key}.nonce")

    def next(self) -> int:
        with self._mutex:
            if self.path is None:
                self._last = max(int(time.time() * 1000), self._last + 1)
                return self._last
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                raw = os.pread(fd, _NONCE_WIDTH, 0).strip(b"\x00 \n")
                last = int(raw) if raw.isdigit() else 0
                nonce = max(int(time.time() * 1000), last + 1, self._last + 1)
                os.pwrite(fd, str(nonce).zfill(_NONCE_WIDTH).encode(), 0)
                self._last = nonce
                return nonce
            finally:
                os.close(fd)  # closing drops the flock


_pending = threading.local()
_sdk_clock: Any = None


def _sdk_timestamp() -> int:
    nonce = getattr(_pending, "nonce", None)
    if nonce is None:
        return _sdk_clock()
    _pending.nonce = None  # one action, one nonce
    return nonce


@contextlib.contextmanager
def signing(nonce: int) -> Iterator[None]:
    """The SDK action called inside this block is signed with `nonce` (this thread only)."""
    global _sdk_clock
    import hyperliquid.exchange as sdk_exchange

    if sdk_exchange.get_timestamp_ms is not _sdk_timestamp:
        _sdk_clock = sdk_exchange.get_timestamp_ms
        sdk_exchange.get_timestamp_ms = _sdk_timestamp
    _pending.nonce = nonce
    try:
        yield
    finally:
        _pending.nonce = None
