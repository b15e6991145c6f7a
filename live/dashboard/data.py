"""The files the dashboard and monitor read, found from the params: trader folders (status.json under
`live.journal_dir`), their journals, autopilot cycles, the registry index, backtest report folders and sweeps.
Plus the live-vs-backtest replay and the emergency-stop file, the one write (behind a confirmation in the page).

Every reader tolerates what a running writer can leave: a torn last JSON line, a file replaced while read, a folder
without the expected file. Relative paths are resolved against the repository root, as the writers do.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backtest.config import REPO_ROOT, Objectives, Params
from live.journal import JOURNAL_GLOB, STATUS_FILE, read_lines, read_status

CYCLES_FILE = "cycles.jsonl"


def _abs(path: str | Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else REPO_ROOT / p


def coin_slug(coin: str) -> str:
    """Folder name of a coin (`xyz:XYZ100` -> `xyz_XYZ100`), as the trader and the autopilot write it."""
    return coin.replace(":", "_").replace("/", "_")


@dataclass(frozen=True)
class Paths:
    """Where everything the dashboard shows lives (absolute)."""

    journal_dir: Path
    autopilot_dir: Path
    reports_dir: Path
    tune_dir: Path
    registry_dir: Path
    emergency_stop_file: Path
    ray_dashboard_url: str

    @classmethod
    def from_params(cls, params: Params) -> Paths:
        """Where the writers put things: results under `cluster.storage` when it is a path (a URI storage is not
        browsed: the dashboard then reads the repository's folders), journals under `live.journal_dir`."""
        from cluster.storage import is_uri, storage_root

        d = params.dashboard
        journal = _abs(params.live.journal_dir)
        root = storage_root(params)
        base = REPO_ROOT if is_uri(root) else Path(root)

        def under(rel: str) -> Path:
            return Path(rel) if Path(rel).is_absolute() else base / rel

        if d.registry_dir:
            registry = _abs(d.registry_dir)
        else:
            registry = Path(os.environ.get("AML100_REGISTRY") or base / "registry")
        return cls(
            journal_dir=journal,
            autopilot_dir=_abs(d.autopilot_dir) if d.autopilot_dir else under(params.autopilot.dir),
            reports_dir=under(params.backtest.reports_dir),
            tune_dir=under(d.tune_dir),
            registry_dir=registry,
            emergency_stop_file=_abs(params.live.emergency_stop_file),
            ray_dashboard_url=d.ray_dashboard_url,
        )

    def cycles_file(self, coin: str) -> Path:
        return self.autopilot_dir / coin_slug(coin) / CYCLES_FILE

    def autopilot_root(self, coin: str) -> Path:
        """The autopilot's folder of `coin`: cycles.jsonl, and its journal of alert records."""
        return self.autopilot_dir / coin_slug(coin)


@dataclass(frozen=True)
class TraderRef:
    """One trader folder: where, which coin and account, and how fresh its status is."""

    root: Path
    coin: str
    account: str
    mode: str
    running: bool
    updated_ms: int

    @property
    def label(self) -> str:
        state = "running" if self.running else "stopped"
        return f"{self.coin} {self.account[:10]} ({self.mode}, {state})"


def find_traders(journal_dir: Path) -> list[TraderRef]:
    """Every folder under `journal_dir` holding a status.json, the most recently updated first."""
    out = []
    if not journal_dir.is_dir():
        return out
    for path in journal_dir.rglob(STATUS_FILE):
        st = read_status(path.parent) or {}
        out.append(
            TraderRef(
                root=path.parent,
                coin=str(st.get("coin") or path.parent.parent.name),
                account=str(st.get("account") or path.parent.name),
                mode=str(st.get("mode") or "?"),
                running=bool(st.get("running")),
                updated_ms=int(st.get("updated_ms") or path.stat().st_mtime * 1000),
            )
        )
    return sorted(out, key=lambda t: t.updated_ms, reverse=True)


def journal_files(root: Path, days: int) -> list[Path]:
    """The newest `days` journal files of a trader folder, oldest first."""
    return sorted(Path(root).glob(JOURNAL_GLOB))[-days:]


def read_jsonl(path: Path, counts: Counter | None = None) -> list[dict[str, Any]]:
    """Records of one JSON-lines file, skipping torn or blank lines (counted in `counts`, as `live.journal.read_lines`
    does: a torn line is never glued to the next record)."""
    try:
        return list(read_lines(path, counts))
    except OSError:
        return []


def file_key(path: Path) -> tuple[str, int, int]:
    """(path, size, mtime_ns): changes whenever an appended or replaced file changes; a cache key."""
    try:
        st = path.stat()
        return str(path), st.st_size, st.st_mtime_ns
    except OSError:
        return str(path), -1, -1


def load_records(root: Path, days: int, counts: Counter | None = None) -> list[dict[str, Any]]:
    """Journal records of the newest `days` UTC days, in time order (torn lines skipped, counted in `counts`)."""
    out: list[dict[str, Any]] = []
    for path in journal_files(root, days):
        out += read_jsonl(path, counts)
    return out


def load_cycles(path: Path) -> list[dict[str, Any]]:
    """Finished autopilot cycles, oldest first (an empty list when the autopilot has not written any)."""
    return read_jsonl(path) if path.is_file() else []


def find_cycle_files(autopilot_dir: Path) -> list[Path]:
    return sorted(autopilot_dir.glob(f"*/{CYCLES_FILE}")) if autopilot_dir.is_dir() else []


def load_registry(registry_dir: Path) -> list[dict[str, Any]]:
    path = registry_dir / "index.json"
    try:
        return list(json.loads(path.read_text()).get("entries") or [])
    except (OSError, ValueError, AttributeError):
        return []


def _folders_with(base: Path, name: str, limit: int) -> list[Path]:
    if not base.is_dir():
        return []
    found = [p for p in base.iterdir() if (p / name).is_file()]
    return sorted(found, key=lambda p: (p / name).stat().st_mtime, reverse=True)[:limit]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
        return doc if isinstance(doc, dict) else {}
    except (OSError, ValueError):
        return {}


def list_reports(reports_dir: Path, limit: int = 30) -> list[dict[str, Any]]:
    """Backtest report folders (metrics.json), newest first: name, the document, report.html's path or None."""
    out = []
    for folder in _folders_with(reports_dir, "metrics.json", limit):
        html = folder / "report.html"
        out.append({"name": folder.name, "doc": _read_json(folder / "metrics.json"),
                    "html": str(html) if html.is_file() else None})  # fmt: skip
    return out


def list_sweeps(tune_dir: Path, limit: int = 30) -> list[dict[str, Any]]:
    """Finished sweeps (summary.json under runs/tune/<name>/), newest first."""
    out = []
    for folder in _folders_with(tune_dir, "summary.json", limit):
        html = folder / "report.html"
        out.append({"name": folder.name, "doc": _read_json(folder / "summary.json"),
                    "html": str(html) if html.is_file() else None})  # fmt: skip
    return out


# --- live vs backtest -----------------------------------------------------------------------------------------------
def session_frames(records: list[dict[str, Any]]):
    """The last session in `records` as a `live.replay.Session` (None without a history record)."""
    from live.replay import Session

    start = history = None
    lists: dict[str, list] = {"bar": [], "decision": []}
    for rec in records:
        kind = rec.get("kind")
        if kind == "start":
            start, history = rec, None
            lists = {"bar": [], "decision": []}
        elif kind == "history":
            history = rec
        elif kind in lists and start is not None:
            lists[kind].append(rec)
    if start is None or history is None or not history.get("t"):
        return None
    frame = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(history["t"], unit="ms", utc=True),
            "open": history["o"],
            "high": history["h"],
            "low": history["l"],
            "close": history["c"],
            "volume": history["v"],
            "trades": history["n"],
            "source": history.get("source", "unknown"),
        }
    )
    return Session(start, frame, bars=lists["bar"], decisions=lists["decision"])


def backtest_equity(session, spec: str, params: Params, objectives: Objectives) -> tuple[np.ndarray, np.ndarray]:
    """What the backtester says for the session's bars: (bar open ms, equity at the close) for each live bar, from
    the same run `live.replay.replay` makes (one continuous segment warmed on the session's history), with the
    params and objectives the session's `start` record says it traded with (else the dashboard's)."""
    from backtest.config import objectives_from_dict, params_from_dict, with_overrides

    start = getattr(session, "start", None) or {}
    if isinstance(start.get("params"), dict):
        params = params_from_dict(start["params"], "the session's start record")
    if isinstance(start.get("objectives"), dict):
        objectives = objectives_from_dict(start["objectives"], "the session's start record")
    from backtest.features import compute_features
    from backtest.runner import run_backtest
    from backtest.sim import Market

    bars = session.frame()
    h = len(session.history)
    # one continuous segment (chunk_size has a floor of 100 bars: a short session still fits in one)
    p = with_overrides(params, [f"backtest.warmup_bars={h}", f"backtest.chunk_size={max(len(bars) + 1, 100)}"])
    market = Market.from_bars(bars, p)
    result = run_backtest(spec, p, objectives, market, compute_features(bars, p.trading, p.market.coin), workers=0)
    return np.asarray(result.timestamps, dtype=np.int64), np.asarray(result.equity, dtype=np.float64)


# --- the emergency stop: the one write ------------------------------------------------------------------------------
def emergency_stop_present(path: Path) -> bool:
    return Path(path).exists()


def set_emergency_stop(path: Path, on: bool, who: str = "dashboard") -> bool:
    """Create (on) or remove (off) the emergency-stop file the trader checks every loop turn; returns whether it is
    present afterwards. Nothing is journalled here: the trader journals what it sees."""
    path = Path(path)
    if on:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"emergency stop created by the {who}\n")
    else:
        path.unlink(missing_ok=True)
    return path.exists()


# --- settings shared by the Streamlit process, its file routes and the monitor -------------------------------------
ARGV_ENV = "AML100_DASHBOARD_ARGV"


def configs_from_argv(argv: list[str]) -> tuple[Params, Objectives]:
    """Params and objectives from `--config/--objectives/--set` arguments (what `python -m live.dashboard` got)."""
    import argparse

    from backtest.cli import add_config_args, load_configs

    ap = argparse.ArgumentParser(add_help=False)
    add_config_args(ap)
    args, _ = ap.parse_known_args(argv)
    return load_configs(args)


def argv_from_env() -> list[str]:
    """The config arguments `python -m live.dashboard` hands to the Streamlit process (JSON list in the env)."""
    raw = os.environ.get(ARGV_ENV)
    return list(json.loads(raw)) if raw else []


def report_file(paths: Paths, kind: str, name: str) -> Path | None:
    """The report.html a dashboard link names (`report/<folder>` or `sweep/<folder>`), or None. Only folder names
    listed in the reports or tune folder qualify: a link can never reach another file."""
    base = {"report": paths.reports_dir, "sweep": paths.tune_dir}.get(kind)
    if base is None or not base.is_dir() or name not in {p.name for p in base.iterdir() if p.is_dir()}:
        return None
    path = base / name / "report.html"
    return path if path.is_file() else None
