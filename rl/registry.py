"""Model registry on disk: one entry per trained policy, ensemble or tuned rules-parameter set.

    python -m rl.registry list | show ID | promote ID [--override --reason TEXT] [--for-live] | retire ID | add PATH

The index is one JSON file (`registry/index.json` at the repository root by default, or `$AML100_REGISTRY`),
written atomically (temp file + os.replace) under a file lock. Each entry: id, kind (ppo | dqn | ensemble |
rules-params), coin, checkpoint (path), metadata (config, seed, data span, share_real), validation and test figures,
min_trades (the test span's trade-density minimum), gate verdict, status (candidate | promoted | retired) and the
history of status changes (time, from, to, reason, override). At most one entry per coin is promoted: promoting one
retires the previous, recorded in both histories. The live trader serves `promoted(coin)`.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backtest.atomic import atomic_write_json
from backtest.config import REPO_ROOT

KINDS = ("ppo", "dqn", "ensemble", "rules-params")
STATUSES = ("candidate", "promoted", "retired")
INDEX_FILE = "index.json"


class RegistryError(ValueError):
    """An unknown id, an ambiguous prefix or a transition the registry does not allow."""


def default_root() -> Path:
    return Path(os.environ.get("AML100_REGISTRY") or REPO_ROOT / "registry")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_index(path: Path, data: Any) -> None:
    atomic_write_json(path, data)


class Registry:
    """The on-disk index. Every mutating call is read-modify-write under an exclusive lock."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()
        self.index = self.root / INDEX_FILE

    # -- storage -------------------------------------------------------------------------------------------------
    def _read(self) -> dict[str, Any]:
        if not self.index.is_file():
            return {"version": 1, "entries": []}
        return json.loads(self.index.read_text())

    @contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
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
            "checkpoint": str(Path(checkpoint).resolve()),
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


# -- console ---------------------------------------------------------------------------------------------------------
def _fmt(value: Any) -> str:
    from backtest.objectives import format_value

    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return format_value(float(value))
    return str(value)


def render_table(header: list[str], rows: list[list[Any]]) -> str:
    """A plain aligned text table."""
    cells = [header, *[[_fmt(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def list_table(entries: list[dict[str, Any]]) -> str:
    header = ["id", "kind", "coin", "status", "test sharpe", "test month %", "test dd %", "trades", "gate", "real days"]
    rows = []
    for e in entries:
        t = e.get("test") or {}
        gate = e.get("gate") or {}
        verdict = None if not gate else ("pass" if gate.get("passed") else "fail")
        row = [e["id"], e["kind"], e["coin"], e["status"], t.get("sharpe"), t.get("monthly_return_pct")]
        rows.append([*row, t.get("max_drawdown_pct"), t.get("n_trades"), verdict, t.get("real_days")])
    return render_table(header, rows) if rows else "registry is empty"


def show_text(entry: dict[str, Any]) -> str:
    keys = ["sharpe", "monthly_return_pct", "max_drawdown_pct", "profit_factor", "n_trades", "hold_rate_pct", "days"]
    figures = render_table(
        ["figure", "validation", "test"],
        [[k, (entry.get("validation") or {}).get(k), (entry.get("test") or {}).get(k)] for k in [*keys, "real_days"]],
    )
    meta = entry.get("metadata") or {}
    data = meta.get("data") or {}
    history = render_table(
        ["at", "from", "to", "override", "reason"],
        [[h["at"], h["from"], h["to"], h.get("override", False), h["reason"]] for h in entry["history"]],
    )
    gate = entry.get("gate") or {}
    lines = [
        f"id:         {entry['id']}",
        f"kind:       {entry['kind']}   coin: {entry['coin']}   status: {entry['status']}",
        f"checkpoint: {entry['checkpoint']}",
        f"created:    {entry['created']}",
        f"seed:       {meta.get('seed')}   data: {data.get('source')} {data.get('days')} days, "
        f"share_real {_fmt(data.get('share_real'))}",
        f"gate:       {'-' if not gate else ('PASS' if gate.get('passed') else 'FAIL ' + str(gate.get('failed')))}"
        f"   min_trades {entry.get('min_trades')}",
        "",
        figures,
        "",
        history,
    ]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m rl.registry", description="Model registry: list, inspect, promote.")
    p.add_argument("--root", type=Path, help="registry folder (default registry/ or $AML100_REGISTRY)")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="all entries")
    show = sub.add_parser("show", help="one entry in full")
    show.add_argument("id")
    pr = sub.add_parser("promote", help="promote an entry if its test figures pass the gate")
    pr.add_argument("id")
    pr.add_argument("--for-live", action="store_true", help="also require min_real_days of real bars")
    pr.add_argument("--override", action="store_true", help="promote even though the gate refuses (needs --reason)")
    pr.add_argument("--reason", default=None, help="why (required with --override)")
    pr.add_argument("--objectives", default=None, help="objectives file (default configs/objectives.yaml)")
    rt = sub.add_parser("retire", help="retire an entry")
    rt.add_argument("id")
    rt.add_argument("--reason", default="retired by hand")
    ad = sub.add_parser("add", help="register a checkpoint, ensemble or params file; backtests its test span")
    ad.add_argument("path", type=Path)
    ad.add_argument("--data", choices=["synthetic", "hybrid", "real"], default=None, help="default: from metadata")
    ad.add_argument("--days", type=float, default=None, help="default: from metadata")
    return p


def cmd_promote(reg: Registry, args: argparse.Namespace) -> int:
    from backtest.config import load_objectives
    from rl.gate import gate_check

    entry = reg.get(args.id)
    if args.override and not (args.reason or "").strip():
        print("error: --override needs --reason TEXT (it is recorded)", file=sys.stderr)
        return 2
    if not entry.get("test"):
        print(f"error: {entry['id']} has no test figures; the gate cannot judge it", file=sys.stderr)
        return 2
    verdict = gate_check(entry["test"], load_objectives(args.objectives), entry.get("min_trades") or 1, args.for_live)
    print(verdict.table())
    if not verdict.passed and not args.override:
        print(f"promotion of {entry['id']} refused; use --override --reason TEXT to promote anyway", file=sys.stderr)
        return 1
    reason = args.reason or ("gate passed" + (" (live)" if args.for_live else ""))
    if not verdict.passed:
        reason = f"OVERRIDE of failed gate ({', '.join(verdict.failed)}): {reason}"
    reg.set_gate(entry["id"], verdict.to_dict())
    entry, previous = reg.promote(entry["id"], reason, override=not verdict.passed, for_live=args.for_live)
    if previous is not None:
        print(f"retired {previous['id']} (superseded)")
    print(f"promoted {entry['id']} for {entry['coin']}{' (override)' if not verdict.passed else ''}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    reg = Registry(args.root)
    try:
        if args.cmd == "list":
            print(list_table(reg.entries()))
        elif args.cmd == "show":
            print(show_text(reg.get(args.id)))
        elif args.cmd == "promote":
            return cmd_promote(reg, args)
        elif args.cmd == "retire":
            print(f"retired {reg.retire(args.id, args.reason)['id']}")
        elif args.cmd == "add":
            from rl.tuning.register import register_path

            entry = register_path(args.path, source=args.data, days=args.days, registry=reg)
            print(show_text(entry))
    except RegistryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    from backtest.cli import run_main

    run_main(main)
