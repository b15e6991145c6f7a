"""Compiled functions and numba's on-disk cache, stamped with every compiled source of the project.

numba stamps a cached function with its own file only (`numba.core.caching`: a hash of that file). A function that
calls or inlines compiled code from another module keeps its old machine code when only that module changes: after
a change to `backtest/sim/kernel.py` alone, `rl/lockstep.py`'s cached loop ran the old simulator (found 2026-12-03:
its equity differed from the Python loop's until the cache was deleted; numba issue #6845). Every cached function of
the packages named in `COMPILED_PACKAGES` is therefore stamped here with a hash of all their compiled modules, so
a change to any of them recompiles all of them in the next process (`make setup` compiles them ahead, `rl.warm`).

Use `cached_njit(...)` (`kernel_jit(...)` for the simulator's kernel) instead of `numba.njit(cache=True, ...)`;
`tests/backtest/test_jit.py` refuses the latter in these packages and proves a changed callee reaches its cached caller.
A module that only holds constants compiled code reads (backtest/sim/layout.py) names `kernel_jit` so it is stamped too.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

from numba import njit
from numba.core import caching

REPO_ROOT = Path(__file__).resolve().parent.parent
COMPILED_PACKAGES = ("backtest", "rl")  # the packages whose modules hold compiled code (rl inlines backtest's)
_MARKERS = (b"njit", b"kernel_jit")  # a module that defines compiled code


def compiled_sources(roots: tuple[Path, ...]) -> list[Path]:
    """The Python files under `roots` that define compiled code, in a stable order."""
    found = []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if "__pycache__" not in path.parts and any(m in path.read_bytes() for m in _MARKERS):
                found.append(path)
    return found


def sources_digest(roots: tuple[Path, ...]) -> str:
    """A hash of the compiled sources under `roots`: their paths below the roots' parent, and their contents."""
    h = hashlib.sha256()
    for path in compiled_sources(roots):
        name = next(str(path.relative_to(r.parent)) for r in roots if path.is_relative_to(r))
        h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


ROOTS: tuple[Path, ...] = tuple(REPO_ROOT / name for name in COMPILED_PACKAGES)


@functools.cache
def _digest(roots: tuple[Path, ...]) -> str:
    return sources_digest(roots)


def _in_roots(py_file: str) -> bool:
    path = Path(py_file).resolve()
    return any(path.is_relative_to(root) for root in ROOTS)


class _ProjectStamp:
    """Mixin for numba's source-file locators: the function's own stamp plus the project's compiled sources."""

    def get_source_stamp(self) -> Any:
        return super().get_source_stamp(), _digest(ROOTS)  # type: ignore[misc]

    @classmethod
    def from_function(cls, py_func: Any, py_file: str) -> Any:
        if not _in_roots(py_file):
            return None
        return super().from_function(py_func, py_file)  # type: ignore[misc]


class ProjectUserProvidedLocator(_ProjectStamp, caching.UserProvidedCacheLocator):
    """NUMBA_CACHE_DIR set: the cache there, stamped with the project's compiled sources."""


class ProjectInTreeLocator(_ProjectStamp, caching.InTreeCacheLocator):
    """The cache in the source's `__pycache__`, stamped with the project's compiled sources."""


class ProjectUserWideLocator(_ProjectStamp, caching.UserWideCacheLocator):
    """A read-only checkout: the cache in the user's cache folder, stamped with the project's compiled sources."""


_LOCATORS = [ProjectUserProvidedLocator, ProjectInTreeLocator, ProjectUserWideLocator]


def _install() -> None:
    classes = caching.CacheImpl._locator_classes  # numba 0.68 (pinned in constraints.txt)
    if classes[: len(_LOCATORS)] != _LOCATORS:
        classes[:0] = _LOCATORS


_install()


def cached_njit(**options: Any) -> Any:
    """`numba.njit` with its machine code cached on disk and stamped with the project's compiled sources."""
    return njit(cache=True, **options)


def kernel_jit(**options: Any) -> Any:
    """`cached_njit` for the simulator's kernel functions (backtest/sim/): without the runtime's reference counting.

    Kernel functions never allocate, so reference counting is pure overhead: with it, every per-bar call pays
    atomic increments on each array argument (measured: ~150 ns a call, 20x the work of a flat bar).
    """
    return cached_njit(_nrt=False, **options)
