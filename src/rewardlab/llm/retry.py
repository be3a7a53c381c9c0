"""One bounded retry loop shared by every HTTP backend.

We switch the SDKs' own retries off (``max_retries=0``) and retry here instead, deliberately:

* the error at the end can say how many attempts were made and what the last status was (the SDKs only
  re-raise the last exception);
* OpenAI-compatible servers and Anthropic get the same policy, configured in one place;
* the budget bounds both the number of attempts and the total time spent waiting, and a server's
  ``Retry-After`` is honoured but capped, so a run never sleeps for an hour on one header (the original
  Eureka code retried up to 1000 times).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from rewardlab.llm.errors import LLMRetryBudgetExhausted, LLMTimedOutAfterRetries

log = logging.getLogger("rewardlab.llm")

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before giving up on a transient failure (429, 5xx, timeout, dropped connection)."""

    max_attempts: int = 5
    """Attempts in total, the first included; 1 disables retrying."""
    base_delay_s: float = 1.0
    """First backoff; doubles on each retry (with jitter) up to ``max_delay_s``."""
    max_delay_s: float = 60.0
    """Longest single wait, also the cap on a server's Retry-After."""
    max_total_wait_s: float = 300.0
    """Give up rather than wait longer than this in total for one request."""
    jitter: float = 0.25
    """Each backoff is shortened by a random fraction up to this, so concurrent callers spread out."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")
        if min(self.base_delay_s, self.max_delay_s, self.max_total_wait_s) < 0:
            raise ValueError("RetryPolicy delays must be >= 0")
        if not 0 <= self.jitter <= 1:
            raise ValueError("RetryPolicy.jitter must be in [0, 1]")

    def delay(self, retry_number: int, retry_after_s: float | None, rand: float) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based); the server's Retry-After wins if given."""
        if retry_after_s is not None and math.isfinite(retry_after_s):
            return min(max(retry_after_s, 0.0), self.max_delay_s)
        backoff = min(self.base_delay_s * 2.0 ** (retry_number - 1), self.max_delay_s)
        return backoff * (1.0 - self.jitter * rand)


@dataclass(frozen=True)
class Failure:
    """A transient failure, described for the log line and the final error message."""

    summary: str
    status: int | None = None
    retry_after_s: float | None = None
    timed_out: bool = False


Classifier = Callable[[BaseException], "Failure | None"]
"""Maps an SDK exception to a transient ``Failure``, raises an ``LLMError`` for a permanent one, or returns
None for exceptions it does not know (which then propagate unchanged)."""


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    *,
    classify: Classifier,
    policy: RetryPolicy,
    what: str,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    rand: Callable[[], float] = random.random,
) -> T:
    """Run ``attempt`` until it succeeds, a permanent error occurs, or the budget is spent."""
    started = time.monotonic()
    waited = 0.0
    for number in range(1, policy.max_attempts + 1):
        try:
            return await attempt()
        except Exception as exc:
            failure = classify(exc)
            if failure is None:
                raise
            last_exc = exc
        if number == policy.max_attempts:
            break
        wait = policy.delay(number, failure.retry_after_s, rand())
        if waited + wait > policy.max_total_wait_s:
            log.warning(
                "%s: %s; not retrying, the wait budget of %.0f s is spent",
                what,
                failure.summary,
                policy.max_total_wait_s,
            )
            break
        log.warning(
            "%s: %s; retrying in %.2f s (attempt %d of %d)",
            what,
            failure.summary,
            wait,
            number + 1,
            policy.max_attempts,
        )
        await sleep(wait)
        waited += wait
    raise _exhausted(what, number, time.monotonic() - started, failure) from last_exc


def _exhausted(what: str, attempts: int, elapsed: float, failure: Failure) -> LLMRetryBudgetExhausted:
    if failure.timed_out:
        hint = (
            "every attempt was slower than the timeout: raise the timeout (local models on a CPU can need "
            "minutes per reply) or lower max_tokens"
        )
    elif failure.status == 429:
        hint = (
            "the server keeps rate-limiting: lower the concurrency, wait, or raise the retry budget "
            "(RetryPolicy.max_attempts / max_total_wait_s)"
        )
    elif failure.status is not None:
        hint = "the server keeps failing: check that it is up and healthy (its logs say why), then re-run"
    else:
        hint = "check that the server is running and that the base URL is right, then re-run"
    plural = "attempt" if attempts == 1 else "attempts"
    message = (
        f"{what}: gave up after {attempts} {plural} in {elapsed:.1f} s; last error: {failure.summary}. "
        f"Hint: {hint}. Samples already received are kept in the cache, if one is configured."
    )
    cls = LLMTimedOutAfterRetries if failure.timed_out else LLMRetryBudgetExhausted
    return cls(message, attempts=attempts, last_status=failure.status, last_error=failure.summary)


def parse_retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds the server asks us to wait: ``retry-after-ms``, then ``retry-after`` (seconds or HTTP date).

    ``headers`` must look names up case-insensitively, as httpx's ``Headers`` does.
    """
    if headers is None:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue
        return seconds if math.isfinite(seconds) else None
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        return None
    return max(parsed.timestamp() - (time.time() if now is None else now), 0.0)
