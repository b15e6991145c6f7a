"""Where alerts go: apprise URLs read from the environment or `.env`, and kept out of every log, record and message.

A URL carries its service's token (a Telegram bot token, a Slack webhook path, an ntfy topic, a password), so it is
read only from the variables `alerts.urls` names (the environment first, then `.env` in the repository, as the
signing key: `live.keys`), never logged, printed or written. A target is shown by its variable, position and scheme
(`AML100_ALERT_URLS#1 (tgram)`). Every text that may carry a URL (apprise's own log lines, delivery errors) passes
a `Redactor` that knows each URL and its parts; apprise's logger is kept below warnings and routed through it.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from live.alerts.config import AlertsConfig
from live.alerts.events import rank
from live.keys import Redactor, read_dotenv

log = logging.getLogger("live.alerts")
_SPLIT = re.compile(r"[\s,]+")
_PARTS = re.compile(r"[/:@?&=#+;]+")
SHORTEST_SECRET = 6  # URL parts shorter than this are not worth hiding (and would blank ordinary words)


class TargetError(ValueError):
    """A configured URL apprise cannot use (the message names the variable and scheme, never the URL)."""


@dataclass(frozen=True)
class Target:
    """One apprise URL: its display name (never the URL), its scheme and the lowest level it receives."""

    name: str
    scheme: str
    min_level: str
    url: str = field(repr=False)

    def wants(self, level: str) -> bool:
        return rank(level) >= rank(self.min_level)


def secret_parts(url: str) -> list[str]:
    """The URL, what follows its scheme, and each part long enough to be a token (hidden wherever they appear)."""
    rest = url.split("://", 1)[-1]
    parts = [p for p in _PARTS.split(rest) if len(p) >= SHORTEST_SECRET]
    return sorted({url, rest, *parts}, key=len, reverse=True)  # longest first: a part never leaves a longer one half


def load_targets(
    cfg: AlertsConfig, env: dict[str, str] | None = None, dotenv: str | Path | None = None
) -> list[Target]:
    """The targets of `cfg.urls`, from `env` (default the environment) then `dotenv` (default the repository's
    `.env`); variables that are unset or empty give none."""
    from backtest.config import REPO_ROOT

    env = dict(os.environ if env is None else env)
    file_values = read_dotenv(REPO_ROOT / ".env" if dotenv is None else dotenv)
    out: list[Target] = []
    for src in cfg.urls:
        raw = env.get(src.env) or file_values.get(src.env) or ""
        for i, url in enumerate((u for u in _SPLIT.split(raw.strip()) if u), start=1):
            scheme = url.split("://", 1)[0].lower() if "://" in url else "?"
            out.append(Target(f"{src.env}#{i} ({scheme})", scheme, src.min_level, url))
    return out


def redactor_for(targets: list[Target]) -> Redactor:
    return Redactor([p for t in targets for p in secret_parts(t.url)])


# --- apprise's logger -----------------------------------------------------------------------------------------------
class _RedactingHandler(logging.Handler):
    """apprise's records, redacted, re-logged under `live.alerts.apprise` (so they reach the app's logs unseen)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.secrets: list[str] = []
        self._lock2 = threading.Lock()

    def add(self, parts: list[str]) -> None:
        with self._lock2:
            self.secrets = sorted({*self.secrets, *parts}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        return Redactor(self.secrets)(text)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.redact(record.getMessage())
        except Exception:  # a message that does not format: say so, without it
            text = "(an apprise log line that could not be formatted)"
        logging.getLogger("live.alerts.apprise").log(record.levelno, "%s", text)


_HANDLER = _RedactingHandler()


class _RedactingFilter(logging.Filter):
    """On urllib3's loggers (their debug lines show request paths, where tokens live): the text redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _HANDLER.secrets:
            try:
                record.msg, record.args = _HANDLER.redact(record.getMessage()), None
            except Exception:
                record.msg, record.args = "(a log line that could not be formatted)", None
        return True


_FILTER = _RedactingFilter()
HTTP_LOGGERS = ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry", "requests_oauthlib")


def guard_apprise_logging(targets: list[Target]) -> Redactor:
    """Route apprise's logger through the redactor (warnings and errors only: its debug lines print URLs), and
    return a redactor of these targets for our own texts."""
    _HANDLER.add([p for t in targets for p in secret_parts(t.url)])
    lg = logging.getLogger("apprise")
    lg.setLevel(logging.WARNING)
    lg.propagate = False
    if _HANDLER not in lg.handlers:
        lg.addHandler(_HANDLER)  # beside apprise's own (a NullHandler, and its per-call capture while it sends)
    for name in HTTP_LOGGERS:
        http = logging.getLogger(name)
        if _FILTER not in http.filters:
            http.addFilter(_FILTER)
    return redactor_for(targets)


def build_notifier(target: Target, timeout_s: float) -> Any:
    """An `apprise.Apprise` holding this one URL (TargetError, without the URL, when apprise refuses it)."""
    import apprise

    guard_apprise_logging([target])
    app = apprise.Apprise(asset=apprise.AppriseAsset(app_id="AML-100", app_desc="AML-100 alerts"))
    if not app.add(target.url):
        raise TargetError(f"{target.name}: apprise cannot use this URL (unknown scheme or malformed); its value is "
                          "not shown. The URL formats: https://appriseit.com")  # fmt: skip
    return app
