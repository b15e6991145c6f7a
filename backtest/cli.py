"""Shared command-line plumbing: config files, `--set` overrides, clean errors."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from backtest.config import ConfigError, Objectives, Override, Params, field_bounds, load_objectives, load_params


def schema_type(model: type[BaseModel], name: str, key: str = "") -> Callable[[str], Any]:
    """An argparse `type` that validates a flag through field `name` of `model`: one schema gives the params file,
    `--set` and the flag the same type, bounds and error (`expects >= 0 and <= 65535 (paper_exchange.port), got
    '70000'`). `key` names the field in the error (default `name`)."""
    info = model.model_fields[name]
    adapter = TypeAdapter(Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation)
    bounds = field_bounds(model, [name])
    what = key or name

    def parse(text: str) -> Any:
        try:
            return adapter.validate_python(text)
        except ValidationError as exc:
            err = exc.errors()[0]
            if err["type"] in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
                raise argparse.ArgumentTypeError(f"expects {bounds} ({what}), got {text!r}") from None
            allowed = f" (allowed {bounds})" if bounds else ""
            raise argparse.ArgumentTypeError(f"{what}: {err['msg']}{allowed}, got {text!r}") from None

    parse.__name__ = what  # argparse names the type in its own messages
    return parse


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


def load_configs(args: argparse.Namespace, extra: list[Override | str] | None = None) -> tuple[Params, Objectives]:
    """Params and objectives with `extra` (from dedicated flags: `Override.flag(...)`, so an error names the flag)
    then `--set` overrides applied; a bad value names the `--set` (or flag) that gave it, else the file."""
    overrides = [o if isinstance(o, Override) else Override(o) for o in [*(extra or []), *(args.overrides or [])]]
    objective_sets = [
        Override(o.text.removeprefix("objectives."), o.label) for o in overrides if o.text.startswith("objectives.")
    ]
    param_sets = [o for o in overrides if not o.text.startswith("objectives.")]
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
