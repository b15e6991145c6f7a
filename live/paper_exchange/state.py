"""The state snapshot: one JSON file written atomically (temp file in the same folder, fsync, os.replace, fsync of
the folder). Between snapshots every change lives in the write-ahead journal (`journal.py`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cluster.atomic import atomic_write_text

STATE_VERSION = 2


class StateError(ValueError):
    """The state file cannot be used: a directory, unreadable, not JSON, or from another version."""


def state_text(state: dict[str, Any]) -> str:
    return json.dumps({"version": STATE_VERSION, **state}, separators=(",", ":"), allow_nan=False)


def save_state_text(path: str | Path, text: str) -> None:
    """Write a snapshot so a crash leaves either the old or the new file, never a torn one."""
    path = Path(path)
    atomic_write_text(path, text + "\n")
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)  # make the rename itself durable
    finally:
        os.close(fd)


def save_state(path: str | Path, state: dict[str, Any]) -> None:
    save_state_text(path, state_text(state))


def check_state_path(path: str | Path) -> Path:
    """Refuse a --state that cannot be a state file, before anything starts."""
    path = Path(path)
    if path.is_dir():
        raise StateError(f"--state {path} is a directory; give a file path (it is created if missing)")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise StateError(f"--state {path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise StateError(f"--state {path}: the folder {parent} is not writable")
    return path


def load_state(path: str | Path) -> dict[str, Any] | None:
    """The saved snapshot, or None when there is no file yet."""
    path = check_state_path(path)
    if not path.exists():
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise StateError(f"--state {path}: not a paper-exchange state file ({exc})") from None
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        version = data.get("version") if isinstance(data, dict) else None
        raise StateError(f"--state {path}: state version {version!r}, expected {STATE_VERSION}; use a new file")
    return data
