"""Validation and its errors: one ConfigError naming, per bad value, who gave it (the file or the override), the key,
the value and the allowed range; values of a section that hides them are never echoed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError

from backtest.config.base import ConfigError
from backtest.config.compose import PARAMS_GROUP
from backtest.config.overrides import Override, OverrideLike, _as_override
from backtest.config.params import Params
from backtest.config.schema import _submodel, _unknown_hint, field_bounds

_BOUNDS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


class _NotShown:
    def __repr__(self) -> str:
        return "<not shown>"


def _hides_values(model: type[BaseModel], loc: tuple[Any, ...]) -> bool:
    """A section whose values may be secrets (e.g. `alerts`: `hides_values = True`) never has them echoed."""
    info = model.model_fields.get(loc[0]) if loc and isinstance(loc[0], str) else None
    return bool(getattr(_submodel(info.annotation) if info else None, "hides_values", False))


def _describe(error: dict[str, Any], model: type[BaseModel]) -> str:
    loc = tuple(error["loc"])
    key = ".".join(str(p) for p in loc)
    value = error.get("input")
    if isinstance(value, str | dict | list) and _hides_values(model, loc):
        value = _NotShown()
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind == "extra_forbidden":
        if len(loc) == 1 and issubclass(model, Params):
            return (
                f"{key}: unknown section; known: {', '.join(model.model_fields)}. The sections of rl and live are "
                f"registered under the entry-point group {PARAMS_GROUP} (pyproject.toml): is the package that owns "
                f"{key!r} installed (make setup)?"
            )
        return f"{key}: unknown key (value {value!r}); {_unknown_hint(model, loc[:-1], loc[-1])}"
    if kind == "missing":
        return f"{key}: missing; it is required"
    if kind in _BOUNDS:
        allowed = field_bounds(model, loc) or {
            "greater_than": "> {gt}",
            "greater_than_equal": ">= {ge}",
            "less_than": "< {lt}",
            "less_than_equal": "<= {le}",
        }[kind].format(**ctx)
        return f"{key} = {value!r}: allowed {allowed}"
    if kind == "literal_error":
        return f"{key} = {value!r}: allowed {ctx.get('expected')}"
    if kind == "value_error":
        return f"{key or 'config'}: {error['msg'].removeprefix('Value error, ')}"
    bounds = field_bounds(model, loc)
    return f"{key} = {value!r}: {error['msg']}" + (f" (allowed {bounds})" if bounds else "")


def _blame(loc: tuple[Any, ...], overrides: list[Override], source: str) -> str:
    """Who gave the value at `loc`: the last override of that key (or of a key under a section-level error's
    section), else the file."""
    loc = tuple(str(p) for p in loc)
    exact = [o for o in overrides if tuple(o.path) == loc[: len(o.path)]]
    if exact:
        return exact[-1].label
    inside = [o for o in overrides if tuple(o.path[: len(loc)]) == loc]
    return inside[-1].label if inside else source


def validate_model(
    model: type[BaseModel], data: Any, source: str, overrides: Iterable[OverrideLike] | None = None
) -> Any:
    """`model` validated from `data`; a failure is one ConfigError naming, per bad value, who gave it (the file
    `source` or the override), the key, the value and what is allowed."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of sections, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        ovs = [_as_override(o) for o in overrides or []]
        lines = [(_blame(tuple(e["loc"]), ovs, source), _describe(e, model)) for e in exc.errors()]
        labels = {label for label, _ in lines}
        if len(lines) == 1:
            label, text = lines[0]
            raise ConfigError(f"{label}: {text}") from None
        if len(labels) == 1:
            raise ConfigError(f"{lines[0][0]}: invalid configuration\n  " + "\n  ".join(t for _, t in lines)) from None
        raise ConfigError("invalid configuration\n  " + "\n  ".join(f"{lb}: {t}" for lb, t in lines)) from None
