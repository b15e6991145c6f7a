"""What the schema says about a key: the section model under it, its allowed range, and the closest known keys when it
is unknown."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

import annotated_types as at
from pydantic import BaseModel

from backtest.config.compose import OBJECTIVES_GROUP, PARAMS_GROUP
from backtest.config.objectives import Objectives


def _submodel(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _group_of(model: type[BaseModel]) -> str:
    return OBJECTIVES_GROUP if issubclass(model, Objectives) else PARAMS_GROUP


def _unknown_hint(model: type[BaseModel], where: Sequence[Any], name: str) -> str:
    """What to say about an unknown key `name` under `where`: the closest known keys, or all of them."""
    node: type[BaseModel] | None = model
    for part in where:
        node = _submodel(node.model_fields[part].annotation) if node and part in node.model_fields else None
    if node is None:
        return "remove it or check its spelling"
    known = list(node.model_fields)
    close = difflib.get_close_matches(str(name), known, n=3)
    hint = f"did you mean {' or '.join(close)}?" if close else "known: " + ", ".join(known)
    if not where:
        hint += f" (the sections of rl and live are registered under the entry-point group {_group_of(model)})"
    return hint


def field_bounds(model: type[BaseModel], loc: Sequence[Any]) -> str:
    """The allowed range of the field at `loc` in `model`, e.g. ">= 0.01 and <= 100" ("" when it has none)."""
    node: type[BaseModel] | None = model
    info = None
    for part in loc:
        if node is None or part not in node.model_fields:
            return ""
        info = node.model_fields[part]
        node = _submodel(info.annotation)
    if info is None:
        return ""
    parts = []
    for m in info.metadata:
        for cls, attr, sign in ((at.Gt, "gt", ">"), (at.Ge, "ge", ">="), (at.Lt, "lt", "<"), (at.Le, "le", "<=")):
            if isinstance(m, cls):
                v = getattr(m, attr)
                parts.append(f"{sign} {v if isinstance(v, int) else format(v, 'g')}")
    return " and ".join(parts)
