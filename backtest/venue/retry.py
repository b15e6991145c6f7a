"""Retry with exponential backoff and jitter for calls to the HyperLiquid API (REST and WebSocket reconnects).

Retried: HTTP 429 (`ClientError` with status_code 429), any 5xx (`ServerError`), timeouts and connection errors
(requests' and the built-in ones). Everything else (a bad request, an unknown coin) fails at once: retrying would
not help. When the attempts are used up, `RetryError` says what was tried, how often, for how long and the last
error. The SDK retries nothing itself.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests
from hyperliquid.utils.error import ClientError, ServerError

T = TypeVar("T")
log = logging.getLogger(__name__)


class RetryError(RuntimeError):
    """A retried call kept failing; the message names the call, the attempts and the last error."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry: delay_n = min(max_delay_s, base_delay_s * 2**n), times a random factor
    in [1 - jitter, 1 + jitter] so that many clients do not retry in lockstep."""

    max_attempts: int = 6
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    jitter: float = 0.5

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (0-based)."""
        base = min(self.max_delay_s, self.base_delay_s * (2.0**attempt))
        u = (rng or random).uniform(1.0 - self.jitter, 1.0 + self.jitter)
        return max(0.0, min(self.max_delay_s, base * u))


def is_retryable(exc: BaseException) -> bool:
    """True for rate limiting (429), server errors (5xx), timeouts and connection failures."""
    if isinstance(exc, ClientError):
        return exc.status_code == 429
    if isinstance(exc, ServerError):
        return True
    return isinstance(exc, requests.Timeout | requests.ConnectionError | TimeoutError | ConnectionError)


def describe_error(exc: BaseException) -> str:
    """A one-line description of an API error (status code and message, never request headers)."""
    if isinstance(exc, ClientError):
        return f"HTTP {exc.status_code}: {exc.error_message}"
    if isinstance(exc, ServerError):
        return f"HTTP {exc.status_code}: {str(exc.message)[:200]}"
    return f"{type(exc).__name__}: {exc}"


def call_with_retry(
    fn: Callable[[], T],
    what: str,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> T:
    """Call `fn()` until it succeeds, retrying retryable errors per `policy`; raise RetryError when giving up."""
    policy = policy or RetryPolicy()
    waited = 0.0
    for attempt in range(policy.max_attempts):
        try:
            return fn()
        except Exception as exc:
            if not is_retryable(exc):
                raise
            if attempt + 1 >= policy.max_attempts:
                raise RetryError(
                    f"{what} failed {policy.max_attempts} times over {waited:.1f} s; giving up. "
                    f"Last error: {describe_error(exc)}. Check the network and base_url, or try again later."
                ) from exc
            delay = policy.delay(attempt, rng)
            log.warning(
                "%s failed (%s); retry %d/%d in %.2f s",
                what,
                describe_error(exc),
                attempt + 1,
                policy.max_attempts - 1,
                delay,
            )
            waited += delay
            sleep(delay)
    raise RetryError(f"{what}: max_attempts must be >= 1, got {policy.max_attempts}")
