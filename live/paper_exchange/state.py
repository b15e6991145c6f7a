"""State persistence: one JSON file written atomically (temp file in the same folder, fsync, os.replace)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from backtest.atomic import atomic_write_json

STATE_VERSION = 1


def save_state(path: str | Path, state: dict[str, Any]) -> None:
    """Write `state` to `path` so a crash leaves either the old or the new file, never a torn one."""
    atomic_write_json(path, {"version": STATE_VERSION, **state}, indent=None, sort_keys=False, separators=(",", ":"))


def load_state(path: str | Path) -> dict[str, Any] | None:
    """The saved state, or None when there is no file yet."""
    path = Path(path)
    if not path.exists():
        return None
    with open(path) as fh:
        data = json.load(fh)
    if data.get("version") != STATE_VERSION:
        raise ValueError(f"{path}: state version {data.get('version')!r}, expected {STATE_VERSION}")
    return data
