"""Fail early, and clearly, when a command runs under a Python without the project's packages.

Ray Jobs run their entrypoint with the `python` found on the cluster's PATH. If that is not the project's
environment, a job dies deep inside an import (`ModuleNotFoundError: pandas`). Entry points meant for Ray Jobs call
`require_project_env()` first, before importing anything heavy; it uses the standard library only.
"""

from __future__ import annotations

import importlib.util
import sys

REQUIRED = ("numpy", "pandas", "pyarrow", "numba", "ray", "pydantic", "yaml", "hyperliquid")


def missing_packages(names: tuple[str, ...] = REQUIRED) -> list[str]:
    return [n for n in names if importlib.util.find_spec(n) is None]


def require_project_env(command: str) -> None:
    """Exit with a clear message (exit code 3) when this interpreter lacks the project's packages."""
    missing = missing_packages()
    if not missing:
        return
    sys.stderr.write(
        f"error: {command} needs the project's Python environment, but {sys.executable} lacks: "
        f"{', '.join(missing)}.\n"
        "  On this machine: run it with the project's interpreter (.venv/bin/python, or `source .venv/bin/activate`).\n"
        "  As a Ray job: start the cluster from the project's environment (`source .venv/bin/activate && "
        "ray start --head`) so jobs find the same python, or pass the interpreter in the runtime env "
        "(see docs/CLUSTER.md).\n"
    )
    raise SystemExit(3)
