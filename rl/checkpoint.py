"""Checkpoint layout and metadata.

A training run writes `<out>/<algo>/<UTC time>-seed<seed>/best/`: an RLlib algorithm checkpoint plus
`aml100_meta.json` beside RLlib's own files, holding what a reader needs to trust and reuse it: the params dump,
seed, algo, data source and span (bar ranges and times of train / validation / test), share of real bars, feature
names and normalisation statistics (training span only), validation metrics, code version, timesteps.
`--algo ensemble` also writes `<out>/ensemble/<UTC time>-seed<seed>/ensemble.json` naming both members.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from backtest.config import REPO_ROOT
from cluster.atomic import atomic_write_json

META_FILE = "aml100_meta.json"
MANIFEST_FILE = "ensemble.json"
DEFAULT_RUNS_DIR = REPO_ROOT / "runs"


def git_commit() -> str | None:
    """The repository's HEAD commit (with "-dirty" if the tree has changes), or None outside git."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("-dirty" if dirty else "")


def write_json(path: Path, data: dict[str, Any]) -> Path:
    atomic_write_json(path, data)
    return path


def read_metadata(checkpoint: str | Path) -> dict[str, Any]:
    path = Path(checkpoint) / META_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{checkpoint} has no {META_FILE}; is it an AML-100 RL checkpoint?")
    return json.loads(path.read_text())


def is_checkpoint(path: str | Path) -> bool:
    return (Path(path) / META_FILE).is_file()


def is_manifest(path: str | Path) -> bool:
    path = Path(path)
    return (path.is_file() and path.name == MANIFEST_FILE) or (path / MANIFEST_FILE).is_file()


def latest(runs_dir: str | Path, algo: str) -> Path | str | None:
    """Newest best checkpoint (algo "ppo"/"dqn") or ensemble run directory (algo "ensemble") under `runs_dir`.

    `runs_dir` may be a storage URI (cluster.storage); the answer is then a URI too (`cluster.storage.localize`
    copies it here).
    """
    from cluster import storage

    root = storage.join(runs_dir, algo)
    for name in reversed(storage.list_dirs(root)):
        run = storage.join(root, name)
        candidate = run if algo == "ensemble" else storage.join(run, "best")
        wanted = storage.join(candidate, MANIFEST_FILE if algo == "ensemble" else META_FILE)
        if storage.exists(wanted):
            return candidate if storage.is_uri(candidate) else Path(candidate)
    return None
