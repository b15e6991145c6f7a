"""`python -m rl.registry`: list, show, promote, retire and add registry entries."""

from __future__ import annotations

import argparse
import sys

from rl.registry import Registry, RegistryError
from rl.registry.views import list_table, show_text


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m rl.registry", description="Model registry: list, inspect, promote.")
    p.add_argument(
        "--root", help="registry folder or URI (default $AML100_REGISTRY, else <cluster.storage>/registry: registry/)"
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="all entries")
    show = sub.add_parser("show", help="one entry in full")
    show.add_argument("id")
    pr = sub.add_parser("promote", help="promote an entry if its test figures pass the gate")
    pr.add_argument("id")
    pr.add_argument(
        "--for-live",
        action="store_true",
        help="also require min_real_days of real bars and min_real_or_proxy_days of real + proxy bars",
    )
    pr.add_argument("--override", action="store_true", help="promote even though the gate refuses (needs --reason)")
    pr.add_argument("--reason", default=None, help="why (required with --override)")
    pr.add_argument("--objectives", default=None, help="objectives file (default configs/objectives.yaml)")
    rt = sub.add_parser("retire", help="retire an entry")
    rt.add_argument("id")
    rt.add_argument("--reason", default="retired by hand")
    ad = sub.add_parser("add", help="register a checkpoint, ensemble or params file; backtests its test span")
    ad.add_argument("path", help="checkpoint folder, ensemble manifest or params YAML (a path or a storage URI)")
    ad.add_argument(
        "--data", choices=["synthetic", "hybrid", "proxy", "real"], default=None, help="default: from metadata"
    )
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
