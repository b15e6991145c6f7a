"""The `cluster:` section of configs/params.yaml: where results live and what the trading actors hold on a Ray cluster
(docs/CLUSTER.md). `backtest.config` composes it into the params; it imports nothing from the packages above cluster,
so it carries its own model settings (the same as `backtest.config.Section`'s)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ClusterConfig(BaseModel):
    """Where results live and what the trading actors reserve on a Ray cluster; docs/CLUSTER.md."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    storage: str = ""  # results root: a path (relative = the repository) or a URI; "" = $AML100_STORAGE or "."
    live_resource: str = "aml100_live"  # custom Ray resource of the trading node ("" = CPUs only)
    autopilot_resource: str = "aml100_autopilot"
    trial_retries: int = Field(default=1, ge=0, le=100)
    check_storage: bool = True

    @field_validator("storage")
    @classmethod
    def _storage_form(cls, v: str) -> str:
        v = (v or "").strip()
        if "://" in v and not v.split("://", 1)[0].replace("+", "").replace("-", "").isalnum():
            raise ValueError(f"{v!r} is neither a path nor a URI like s3://bucket/aml100")
        if "://" in v and not v.split("://", 1)[1].strip("/"):
            raise ValueError(f"{v!r} names no bucket or folder (e.g. s3://bucket/aml100)")
        return v

    @field_validator("live_resource", "autopilot_resource")
    @classmethod
    def _resource_name(cls, v: str) -> str:
        if v and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", v):
            raise ValueError(f'{v!r} is not a Ray resource name (letters, digits, _ . -), or "" for CPUs only')
        return v
