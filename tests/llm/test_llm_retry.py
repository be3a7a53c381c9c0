"""The bounded retry loop, with a recorded fake sleep so that waits are checked exactly and cost nothing."""

from __future__ import annotations

import asyncio
import email.utils

import pytest

from rewardlab.llm.errors import LLMRequestRejected, LLMRetryBudgetExhausted, LLMTimedOutAfterRetries
from rewardlab.llm.retry import Failure, RetryPolicy, call_with_retries, parse_retry_after


class Transient(Exception):
    def __init__(self, status: int | None = 503, retry_after: float | None = None, timed_out: bool = False):
        super().__init__(f"status {status}")
        self.failure = Failure(
            f"HTTP {status}", status=status, retry_after_s=retry_after, timed_out=timed_out
        )


def classify(exc: BaseException) -> Failure | None:
    if isinstance(exc, Transient):
        return exc.failure
    if isinstance(exc, KeyError):
        raise LLMRequestRejected("permanent", status=400) from exc
    return None


def run(outcomes: list, policy: RetryPolicy) -> tuple[object, list[float], int]:
    """Feed ``outcomes`` through the loop (exceptions raised, values returned); give result, waits, calls."""
    waits: list[float] = []
    calls = 0

    async def attempt():
        nonlocal calls
        item = outcomes[calls]
        calls += 1
        if isinstance(item, BaseException):
            raise item
        return item

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    async def main():
        return await call_with_retries(
            attempt, classify=classify, policy=policy, what="test", sleep=fake_sleep, rand=lambda: 0.0
        )

    try:
        result = asyncio.run(main())
    except BaseException as exc:
        result = exc
    return result, waits, calls


POLICY = RetryPolicy(max_attempts=4, base_delay_s=1.0, max_delay_s=10.0, max_total_wait_s=100.0)


def test_exponential_backoff_then_success():
    result, waits, calls = run([Transient(), Transient(), "ok"], POLICY)
    assert result == "ok" and calls == 3
    assert waits == [1.0, 2.0]


def test_retry_after_wins_over_backoff_and_is_capped():
    result, waits, _ = run([Transient(429, retry_after=3.5), Transient(429, retry_after=999), "ok"], POLICY)
    assert result == "ok"
    assert waits == [3.5, 10.0]


def test_jitter_only_shortens():
    policy = RetryPolicy(base_delay_s=4.0, jitter=0.25)
    assert policy.delay(1, None, rand=1.0) == 3.0
    assert policy.delay(1, None, rand=0.0) == 4.0


def test_budget_of_attempts():
    result, waits, calls = run([Transient(500)] * 10, POLICY)
    assert isinstance(result, LLMRetryBudgetExhausted) and not isinstance(result, LLMTimedOutAfterRetries)
    assert calls == 4 and len(waits) == 3
    assert result.attempts == 4 and result.last_status == 500
    assert "gave up after 4 attempts" in str(result) and "last error: HTTP 500" in str(result)


def test_budget_of_waiting_time():
    policy = RetryPolicy(max_attempts=50, base_delay_s=1.0, max_delay_s=8.0, max_total_wait_s=10.0)
    result, waits, calls = run([Transient(502)] * 50, policy)
    assert isinstance(result, LLMRetryBudgetExhausted)
    assert waits == [1.0, 2.0, 4.0]  # the next wait (8 s) would pass 10 s in total
    assert calls == 4


def test_timeouts_are_reported_as_timeouts():
    result, _, _ = run([Transient(None, timed_out=True)] * 3, RetryPolicy(max_attempts=3, base_delay_s=0))
    assert isinstance(result, LLMTimedOutAfterRetries)
    assert "slower than the timeout" in str(result)


def test_permanent_errors_and_unknown_exceptions_are_not_retried():
    result, waits, calls = run([KeyError("x"), "ok"], POLICY)
    assert isinstance(result, LLMRequestRejected) and calls == 1 and waits == []
    result, _, calls = run([ZeroDivisionError(), "ok"], POLICY)
    assert isinstance(result, ZeroDivisionError) and calls == 1


def test_single_attempt_policy():
    result, waits, calls = run([Transient(503), "ok"], RetryPolicy(max_attempts=1))
    assert isinstance(result, LLMRetryBudgetExhausted) and calls == 1 and waits == []
    assert "after 1 attempt " in str(result)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "inf"}, None),
        ({"retry-after": email.utils.formatdate(1_000_030, usegmt=True)}, 30.0),
        ({"retry-after": email.utils.formatdate(999_000, usegmt=True)}, 0.0),
    ],
)
def test_parse_retry_after(headers, expected):
    assert parse_retry_after(headers, now=1_000_000) == expected


def test_policy_validation():
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(jitter=2)
