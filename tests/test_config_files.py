"""Defaults live once, in the schemas; configs/params.yaml and configs/objectives.yaml, the commented files users
edit, must say the same: every schema field appears in them with the schema's default, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from backtest.config import DEFAULT_OBJECTIVES, DEFAULT_PARAMS, objectives_model, params_model


def _leaves(model: type[BaseModel], prefix: str = "") -> dict[str, Any]:
    """{dotted key: default} for every leaf field of `model` (sections recursed into)."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out.update(_leaves(ann, f"{prefix}{name}."))
        else:
            out[prefix + name] = info.get_default(call_default_factory=True)
    return out


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[prefix + str(key)] = value
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(b, BaseModel):  # an item of a list of models (alerts.urls) is a mapping in the YAML
        return isinstance(a, dict) and _same(a, b.model_dump(mode="json"))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


@pytest.mark.parametrize(("path", "model"), [(DEFAULT_PARAMS, params_model), (DEFAULT_OBJECTIVES, objectives_model)])
def test_every_schema_field_is_in_the_yaml_with_the_schema_default(path, model):
    schema = _leaves(model())
    written = _flatten(yaml.safe_load(path.read_text()))
    missing = sorted(set(schema) - set(written))
    unknown = sorted(set(written) - set(schema))
    differ = {k: (written[k], schema[k]) for k in schema.keys() & written.keys() if not _same(written[k], schema[k])}
    assert not missing, f"{path.name} lacks these keys (add them with the schema's default and a comment): {missing}"
    assert not unknown, f"{path.name} has keys no schema defines: {unknown}"
    assert not differ, f"{path.name} values that differ from the schema's defaults (yaml, schema): {differ}"


def test_the_loaded_files_equal_the_schema_defaults():
    from backtest.config import load_objectives, load_params

    assert load_params() == params_model()()
    assert load_objectives() == objectives_model()()
