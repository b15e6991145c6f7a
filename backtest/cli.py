"""Shared command-line plumbing: config files, `--set` overrides, clean errors."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from backtest.config import ConfigError, Objectives, Params, load_objectives, load_params


def add_config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="PATH", help="params file (default configs/params.yaml)")
    parser.add_argument("--objectives", metavar="PATH", help="objectives file (default configs/objectives.yaml)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any config key, e.g. --set trading.take_profit_pct=0.3 or --set objectives.sharpe_min=1; "
        "repeatable",
    )


def load_configs(args: argparse.Namespace, extra: list[str] | None = None) -> tuple[Params, Objectives]:
    """Params and objectives with `extra` (from dedicated flags) then `--set` overrides applied."""
    overrides = list(extra or []) + list(args.overrides or [])
    objective_sets = [o.removeprefix("objectives.") for o in overrides if o.startswith("objectives.")]
    param_sets = [o for o in overrides if not o.startswith("objectives.")]
    return load_params(args.config, param_sets), load_objectives(args.objectives, objective_sets)


def check_writable_dir(path: str | Path, flag: str = "--out") -> Path:
    """Fail at the door, before any work, when `path` cannot become a writable output folder.

    An existing path must be a directory we can create files in (probed with a temporary file); a new one needs its
    nearest existing ancestor to be such a directory. Raises ConfigError naming the flag and the path.
    """
    path = Path(path).expanduser()
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        where = "is a file" if probe == path else f"has a file in its way ({probe})"
        raise ConfigError(f"{flag} {path}: {where}; give a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {path}: {probe} is not writable")
    try:
        with tempfile.NamedTemporaryFile(dir=probe, prefix=".write-probe-"):
            pass
    except OSError as exc:
        raise ConfigError(f"{flag} {path}: cannot write in {probe} ({exc.strerror or exc})") from None
    return path


def run_main(main: Callable[[], int]) -> None:
    """Run a CLI main: known input errors print one clear message and exit 2, never a traceback."""
    from backtest.data.schema import DataError
    from backtest.strategies.registry import StrategyError

    try:
        code = main()
    except (ConfigError, DataError, StrategyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    sys.exit(code)
