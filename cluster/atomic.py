"""Atomic file writes: after a crash the old file or the new one is there, never a torn one.

Write to a temporary file in the target's folder, fsync it, then `os.replace` it over the target (atomic on POSIX
within one file system). Used for the bar store, journals, registries and state files.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(path: str | Path, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `path`, on any failure it is removed.

    `durable=False` skips the fsync: still never torn after a crash of the process, but after a power cut the old
    content (or an empty file) may come back; only for files where that is safe (the store's progress marker).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if durable:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def json_default(value: Any) -> Any:
    """JSON fallback for numpy values (`tolist`), dates (`isoformat`) and anything else (`str`)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def atomic_write_text(path: str | Path, text: str, durable: bool = True) -> None:
    with atomic_path(path, durable) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_json(
    path: str | Path,
    data: Any,
    *,
    indent: int | None = 2,
    sort_keys: bool = True,
    default: Callable[[Any], Any] | None = json_default,
    separators: tuple[str, str] | None = None,
    durable: bool = True,
) -> None:
    """`json.dumps(data, ...)` written atomically (`durable`: see `atomic_path`)."""
    text = json.dumps(data, indent=indent, sort_keys=sort_keys, default=default, separators=separators)
    atomic_write_text(path, text + "\n", durable)
