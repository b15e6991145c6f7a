"""Model registry on disk: one entry per trained policy, ensemble or tuned rules-parameter set.

The store lives here; the command line (`python -m rl.registry list | show | promote | retire | add`) is
`rl/registry/__main__.py`. The index is one JSON file (`<cluster.storage>/registry/index.json`, by default
`registry/index.json` at the repository root, or `$AML100_REGISTRY`), written atomically (temp file + os.replace)
under a file lock (`filelock`). On object storage (a URI root, e.g. `s3://bucket/aml100/registry`) the index is one
object replaced whole; there is no lock there, so keep one writer at a time (docs/CLUSTER.md). Each entry: id,
kind (ppo | dqn | ensemble | rules-params), coin, checkpoint (path), metadata (config, seed, data span,
share_real), validation and test figures, min_trades (the test span's trade-density minimum), gate verdict, status
(candidate | promoted | retired) and the history of status changes (time, from, to, reason, override). At most one
entry per coin is promoted: promoting one retires the previous, recorded in both histories. The live trader serves
`promoted(coin)`.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock

from backtest.config import REPO_ROOT
from cluster.atomic import atomic_write_json

KINDS = ("ppo", "dqn", "ensemble", "rules-params")
STATUSES = ("candidate", "promoted", "retired")
INDEX_FILE = "index.json"


class RegistryError(ValueError):
    """An unknown id, an ambiguous prefix, a transition the registry does not allow, or an index file that is not
    a registry index (the message names the file and what to do)."""


ENTRY_KEYS = ("id", "kind", "coin", "status", "checkpoint", "created", "history")
HISTORY_KEYS = ("at", "from", "to", "reason")


def parse_index(text: str, where: str) -> dict[str, Any]:
    """The index document in `text` (read from `where`), checked: an object whose `entries` is a list of entries,
    each with every key the registry reads. RegistryError, naming the file, the entry and what to do, otherwise;
    nothing is ever written over an index that fails this."""
    fix = (
        f"nothing was changed. Restore {where} from a backup, or move it aside and register the checkpoints again "
        "(`python -m rl.registry add PATH`; a missing index starts empty)"
    )
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RegistryError(f"{where}: not valid JSON ({exc}): the registry index is damaged; {fix}") from None
    if not isinstance(data, dict):
        raise RegistryError(f"{where}: holds a JSON {type(data).__name__}, not a registry index (an object with an "
                            f"'entries' list); {fix}")  # fmt: skip
    if not isinstance(data.get("entries"), list):
        raise RegistryError(f"{where}: has no 'entries' list (keys: {', '.join(data) or 'none'}); {fix}")
    for i, entry in enumerate(data["entries"]):
        if not isinstance(entry, dict):
            raise RegistryError(f"{where}: entry {i} is a JSON {type(entry).__name__}, not an object; {fix}")
        name = f"entry {i} ({entry['id']})" if isinstance(entry.get("id"), str) else f"entry {i}"
        missing = [k for k in ENTRY_KEYS if k not in entry]
        if missing:
            raise RegistryError(f"{where}: {name} lacks {', '.join(repr(k) for k in missing)}; {fix}")
        if entry["status"] not in STATUSES or entry["kind"] not in KINDS:
            raise RegistryError(f"{where}: {name} has status {entry['status']!r} (one of {STATUSES}) and kind "
                                f"{entry['kind']!r} (one of {KINDS}); {fix}")  # fmt: skip
        history = entry["history"]
        if not isinstance(history, list) or not all(isinstance(h, dict) and all(k in h for k in HISTORY_KEYS)
                                                    for h in history):  # fmt: skip
            raise RegistryError(f"{where}: {name}'s history is not a list of changes with {HISTORY_KEYS}; {fix}")
    return data


def default_root() -> Path | str:
    """`$AML100_REGISTRY`, else `<cluster.storage>/registry` of configs/params.yaml (default `registry/`)."""
    if os.environ.get("AML100_REGISTRY"):
        return _root(os.environ["AML100_REGISTRY"])
    try:
        from backtest.config import load_params
        from cluster.storage import registry_root

        return _root(registry_root(load_params()))
    except Exception:  # an unreadable params file must not hide the registry
        return REPO_ROOT / "registry"


def _root(location: str | Path) -> Path | str:
    from cluster.storage import is_uri

    return str(location).rstrip("/") if is_uri(location) else Path(location)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_index(path: Path, data: Any) -> None:
    atomic_write_json(path, data)


class Registry:
    """The on-disk index. Every mutating call is read-modify-write under an exclusive lock."""

    def __init__(self, root: str | Path | None = None) -> None:
        from cluster.storage import is_uri, join

        self.root = _root(root) if root is not None else default_root()
        self.remote = is_uri(self.root)  # object storage: no file lock
        self.index = join(self.root, INDEX_FILE) if self.remote else self.root / INDEX_FILE

    # -- storage -------------------------------------------------------------------------------------------------
    def _read(self) -> dict[str, Any]:
        """The index, checked (`parse_index`); an empty one when there is none yet."""
        if self.remote:
            from cluster.storage import read_text

            text = read_text(self.index)
            return parse_index(text, str(self.index)) if text else {"version": 1, "entries": []}
        if not self.index.exists():
            return {"version": 1, "entries": []}
        try:
            text = self.index.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise RegistryError(f"{self.index}: cannot be read ({exc.strerror or exc}); check the path and its "
                                "permissions (--root or $AML100_REGISTRY)") from None  # fmt: skip
        return parse_index(text, str(self.index))

    @contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        if self.remote:
            from cluster.storage import write_text

            data = self._read()
            yield data
            write_text(self.index, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
            return
        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.root / ".lock")):
            data = self._read()
            yield data
            write_index(self.index, data)

    # -- queries ---------------------------------------------------------------------------------------------------
    def entries(self) -> list[dict[str, Any]]:
        return list(self._read()["entries"])

    def get(self, entry_id: str) -> dict[str, Any]:
        return _find(self._read()["entries"], entry_id)

    def promoted(self, coin: str) -> dict[str, Any] | None:
        """The entry promoted for `coin`, or None."""
        for entry in self._read()["entries"]:
            if entry["coin"] == coin and entry["status"] == "promoted":
                return entry
        return None

    # -- changes ---------------------------------------------------------------------------------------------------
    def add(
        self,
        kind: str,
        checkpoint: str | Path,
        coin: str,
        metadata: dict[str, Any] | None = None,
        validation: dict[str, Any] | None = None,
        test: dict[str, Any] | None = None,
        min_trades: int | None = None,
        gate: dict[str, Any] | None = None,
        reason: str = "registered",
    ) -> dict[str, Any]:
        """Register a candidate; returns the new entry."""
        if kind not in KINDS:
            raise RegistryError(f"kind {kind!r} is not one of {KINDS}")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        entry = {
            "id": f"{kind}-{stamp}-{uuid.uuid4().hex[:6]}",
            "kind": kind,
            "coin": coin,
            "checkpoint": _location(checkpoint),
            "created": _now(),
            "metadata": metadata or {},
            "validation": validation or {},
            "test": test or {},
            "min_trades": min_trades,
            "gate": gate,
            "status": "candidate",
            "history": [{"at": _now(), "from": None, "to": "candidate", "reason": reason, "override": False}],
        }
        with self._locked() as data:
            data["entries"].append(entry)
        return entry

    def set_gate(self, entry_id: str, gate: dict[str, Any]) -> dict[str, Any]:
        with self._locked() as data:
            entry = _find(data["entries"], entry_id)
            entry["gate"] = gate
        return entry

    def promote(
        self, entry_id: str, reason: str, override: bool = False, for_live: bool = False
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Mark promoted (the gate must have been consulted by the caller); retires the coin's previous one."""
        with self._locked() as data:
            entry = _find(data["entries"], entry_id)
            if entry["status"] == "promoted":
                raise RegistryError(f"{entry['id']} is already promoted")
            previous = next(
                (e for e in data["entries"] if e["coin"] == entry["coin"] and e["status"] == "promoted"), None
            )
            if previous is not None:
                _transition(previous, "retired", f"superseded by {entry['id']}")
            _transition(entry, "promoted", reason, override=override, for_live=for_live)
        return entry, previous

    def retire(self, entry_id: str, reason: str = "retired by hand") -> dict[str, Any]:
        with self._locked() as data:
            entry = _find(data["entries"], entry_id)
            if entry["status"] == "retired":
                raise RegistryError(f"{entry['id']} is already retired")
            _transition(entry, "retired", reason)
        return entry


def _location(checkpoint: str | Path) -> str:
    """A checkpoint as the registry records it: an absolute path, or a storage URI as given."""
    from cluster.storage import is_uri

    return str(checkpoint) if is_uri(checkpoint) else str(Path(checkpoint).resolve())


def _transition(entry: dict[str, Any], status: str, reason: str, override: bool = False, **extra: Any) -> None:
    entry["history"].append(
        {"at": _now(), "from": entry["status"], "to": status, "reason": reason, "override": override, **extra}
    )
    entry["status"] = status


def _find(entries: list[dict[str, Any]], entry_id: str) -> dict[str, Any]:
    exact = [e for e in entries if e["id"] == entry_id]
    matches = exact or [e for e in entries if e["id"].startswith(entry_id)]
    if not matches:
        raise RegistryError(f"no registry entry {entry_id!r}; see `python -m rl.registry list`")
    if len(matches) > 1:
        raise RegistryError(f"{entry_id!r} matches {len(matches)} entries: {', '.join(e['id'] for e in matches)}")
    return matches[0]


def promoted(coin: str, root: str | Path | None = None) -> dict[str, Any] | None:
    """What the live trader serves for `coin`: the promoted entry, or None."""
    return Registry(root).promoted(coin)
