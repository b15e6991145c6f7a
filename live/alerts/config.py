"""The `alerts:` section of configs/params.yaml: where pushes go and when (docs/LIVE.md "Alerts").

The apprise URLs carry tokens, so they never appear here: `urls` names environment variables (read from the
environment, then `.env`, like the signing key: `live.keys`), each holding one or more apprise URLs (separated by
spaces or commas) and the minimum level they get. Registered under the entry-point group `aml100.config`
(pyproject.toml); configs/params.yaml repeats every default (tests/test_config_files.py checks the two agree).
A value of this section is never echoed in a config error (`hides_values`): a URL typed by mistake stays unseen.
"""

from __future__ import annotations

import re
from datetime import time as dtime
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backtest.config import Section
from live.alerts.events import EVENT_NAMES

Level = Literal["info", "warning", "critical"]
_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUIET = re.compile(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})")


class UrlSource(BaseModel):
    """An environment variable holding apprise URLs, and the lowest level those URLs receive."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str
    min_level: Level = "info"

    @field_validator("env", mode="before")
    @classmethod
    def _env_name(cls, v: object) -> object:
        if not isinstance(v, str) or not _ENV.fullmatch(v):
            raise ValueError("must name an environment variable (letters, digits, _) that holds the URLs, never a "
                             "URL itself (URLs carry tokens); the value is not shown")  # fmt: skip
        return v


class EventLimit(BaseModel):
    """A rate limit of its own for one event kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event: str
    seconds: float = Field(ge=0, le=7 * 86_400)

    @field_validator("event")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in EVENT_NAMES:
            raise ValueError(f"unknown event {v!r}; known: {', '.join(EVENT_NAMES)}")
        return v


def parse_quiet_hours(text: str) -> tuple[dtime, dtime] | None:
    """`"22:00-07:00"` -> (22:00, 07:00) (may cross midnight); "" -> None."""
    if not text:
        return None
    m = _QUIET.fullmatch(text.strip())
    if not m:
        raise ValueError(f"quiet_hours must be 'HH:MM-HH:MM' (e.g. '22:00-07:00') or '', got {text!r}")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59 or (h1, m1) == (h2, m2):
        raise ValueError(f"quiet_hours {text!r}: hours 0-23, minutes 0-59, start and end different")
    return dtime(h1, m1), dtime(h2, m2)


class AlertsConfig(Section):
    """Pushes of the journal's alert records (python -m live.serve, python -m live.autopilot, python -m live.alerts)."""

    hides_values: ClassVar[bool] = True

    enabled: bool = True
    urls: list[UrlSource] = Field(default_factory=lambda: [UrlSource(env="AML100_ALERT_URLS", min_level="info")])
    rate_limit_seconds: float = Field(default=600.0, ge=0, le=7 * 86_400)
    rate_limits: list[EventLimit] = Field(default_factory=list)
    feed_down_seconds: float = Field(default=60.0, ge=0, le=86_400)
    quiet_hours: str = ""
    quiet_min_level: Level = "critical"
    timezone: str = "UTC"
    daily_summary_hour: int = Field(default=21, ge=-1, le=23)
    send_timeout_seconds: float = Field(default=10.0, ge=0.5, le=300)
    retry_first_seconds: float = Field(default=5.0, ge=0.1, le=3600)
    retry_max_seconds: float = Field(default=600.0, ge=1, le=86_400)
    give_up_after_hours: float = Field(default=24.0, ge=0.01, le=24 * 30)
    poll_seconds: float = Field(default=1.0, ge=0.05, le=60)

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, v: str) -> str:
        parse_quiet_hours(v)
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (an IANA name such as UTC or Europe/Berlin)") from None
        return v

    def limit_for(self, event: str) -> float:
        """Seconds between two pushes of `event` (its own limit, else `rate_limit_seconds`)."""
        for lim in self.rate_limits:
            if lim.event == event:
                return lim.seconds
        return self.rate_limit_seconds
