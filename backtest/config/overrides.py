"""`section.key=value` overrides (`--set`, or a dedicated flag such as `--days 30`): parsing, checking the key against
the schema, applying them to the parsed YAML; an error names the override."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel

from backtest.config.base import ConfigError
from backtest.config.compose import params_model
from backtest.config.schema import _submodel, _unknown_hint
from backtest.config.yamlio import _yaml


@dataclass(frozen=True)
class Override:
    """One `section.key=value` override and where the user gave it (`--set ...` unless `origin` says, e.g. `--days
    30`); errors caused by it name `label`."""

    text: str
    origin: str = ""

    @property
    def label(self) -> str:
        return self.origin or f"--set {self.text}"

    @property
    def path(self) -> list[str]:
        return parse_override(self.text, self.label)[0]

    @classmethod
    def flag(cls, flag: str, key: str, value: Any) -> Override:
        """The override a dedicated command-line flag stands for (`Override.flag("--days", "backtest.days", 30)`)."""
        return cls(f"{key}={value}", f"{flag} {value}")


OverrideLike = str | Override


def _as_override(item: OverrideLike, prefix: str = "--set") -> Override:
    """`item` as an Override; a plain string is labelled `<prefix> <text>` in errors."""
    if isinstance(item, Override):
        return item
    return Override(str(item), "" if prefix == "--set" else f"{prefix} {item}")


def parse_override(text: str, label: str | None = None) -> tuple[list[str], Any]:
    """Parse `section.key=value` into (path, value); the value is read as YAML."""
    label = label or f"--set {text}"
    if "=" not in text:
        raise ConfigError(f"{label}: must look like section.key=value")
    key, raw = text.split("=", 1)
    path = [p for p in key.strip().split(".") if p]
    if not path:
        raise ConfigError(f"{label}: names no key")
    try:
        return path, _yaml(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{label}: the value is not valid YAML: {exc}") from None


MOVED_KEYS = {
    "backtest.take_profit_fill": "it moved to execution.take_profit (market | maker; the old 'limit' is 'maker')",
}


def _check_path(model: type[BaseModel], path: list[str], label: str) -> None:
    """Refuse an override of a key the schema does not have, naming the closest known keys (or where it moved)."""
    node: type[BaseModel] | None = model
    for i, part in enumerate(path):
        if node is None:
            raise ConfigError(f"{label}: {'.'.join(path[:i])} is a value, not a section")
        if part not in node.model_fields:
            moved = MOVED_KEYS.get(".".join(path[: i + 1]))
            hint = moved or _unknown_hint(model, path[:i], part)
            raise ConfigError(f"{label}: unknown key {'.'.join(path[: i + 1])}; {hint}")
        node = _submodel(node.model_fields[part].annotation)


def apply_overrides(
    data: dict[str, Any], overrides: Iterable[OverrideLike] | None, model: type[BaseModel] | None = None
) -> dict[str, Any]:
    """A copy of `data` with each `section.key=value` override applied; a key the schema (`model`, default the
    composed params) does not have fails, naming the override."""
    model = model or params_model()
    out = yaml.safe_load(yaml.safe_dump(data)) if data else {}
    for item in overrides or []:
        ov = _as_override(item)
        path, value = parse_override(ov.text, ov.label)
        _check_path(model, path, ov.label)
        node = out
        for part in path[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[path[-1]] = value
    return out
