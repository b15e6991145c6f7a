"""Loading: the YAML files (default `configs/params.yaml`, `configs/objectives.yaml`) with their overrides, parsed
mappings (checkpoint metadata, remote envs) and loaded params with more overrides, each validated against the
composed model."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from backtest.config.base import ConfigError, Section
from backtest.config.compose import objectives_model, params_model
from backtest.config.errors import validate_model
from backtest.config.objectives import Objectives
from backtest.config.overrides import OverrideLike, _as_override, apply_overrides
from backtest.config.params import Params
from backtest.config.yamlio import _yaml
from cluster.storage import REPO_ROOT

DEFAULT_PARAMS = REPO_ROOT / "configs" / "params.yaml"
DEFAULT_OBJECTIVES = REPO_ROOT / "configs" / "objectives.yaml"


def _read_yaml(path: Path) -> Any:
    """The parsed YAML file; a missing, unreadable, binary or non-YAML file is one clear ConfigError."""
    try:
        with open(path, encoding="utf-8") as fh:
            return _yaml(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"config path {path} is a directory; give a YAML file") from None
    except PermissionError:
        raise ConfigError(f"config file {path} is not readable (permission denied)") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not a text (UTF-8) YAML file; is it a binary file?") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None


def _display(path: Path) -> str:
    """A config path as the user would write it: relative to the working folder when it is under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _load(model: type[Section], path: Path, overrides: Iterable[OverrideLike] | None) -> Any:
    data = _read_yaml(path)
    if data is None:
        data = {}
    source = _display(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of sections, got {type(data).__name__}")
    ovs = [_as_override(o) for o in overrides or []]
    return validate_model(model, apply_overrides(data, ovs, model), source, ovs)


def load_params(path: str | Path | None = None, overrides: Iterable[OverrideLike] | None = None) -> Params:
    """Load and validate `params.yaml` (default `configs/params.yaml`) with optional `section.key=value` overrides."""
    return _load(params_model(), Path(path) if path else DEFAULT_PARAMS, overrides)


def load_objectives(path: str | Path | None = None, overrides: Iterable[OverrideLike] | None = None) -> Objectives:
    """Load and validate `objectives.yaml` (default `configs/objectives.yaml`); overrides name keys of that file
    (`sharpe_min=1`; on a command line `--set objectives.sharpe_min=1`)."""
    return _load(objectives_model(), Path(path) if path else DEFAULT_OBJECTIVES, overrides)


def params_from_dict(data: dict[str, Any], source: str = "params") -> Params:
    """Validate an already-parsed params mapping (e.g. from a checkpoint's metadata: missing sections take their
    defaults)."""
    return validate_model(params_model(), data, source)


def objectives_from_dict(data: dict[str, Any], source: str = "objectives") -> Objectives:
    """Validate an already-parsed objectives mapping (e.g. passed to a remote env)."""
    return validate_model(objectives_model(), data, source)


def with_overrides(params: Params, overrides: Iterable[OverrideLike], prefix: str = "override") -> Params:
    """A new validated Params with `section.key=value` overrides applied (an error names the override as
    `<prefix> section.key=value`)."""
    ovs = [_as_override(o, prefix) for o in overrides]
    model = params_model()
    return validate_model(model, apply_overrides(params.model_dump(mode="json"), ovs, model), "params", ovs)
