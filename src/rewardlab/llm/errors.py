"""Errors of the LLM layer, each with a message that tells the user what to do next.

The SDKs raise their own classes (and change them between major versions); the backends translate them
here so that the search loop catches one small hierarchy. ``LLMTimedOutAfterRetries`` is both a timeout and
an exhausted budget, the way ``requests.ConnectTimeout`` is both a connection error and a timeout.
"""

from __future__ import annotations


class LLMError(Exception):
    """Base class: anything the LLM layer could not do."""


class LLMConfigError(LLMError):
    """A spec string, API key or optional dependency is wrong or missing; nothing was sent."""


class LLMUnreachable(LLMError):
    """Nothing answers at the backend's URL (checked before a run starts); nothing was sent."""


class LLMRequestRejected(LLMError):
    """The server answered with a 4xx that retrying cannot fix (bad parameter, bad key, unknown model)."""

    def __init__(self, message: str, *, status: int | None, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail
        """The server's own words, kept apart so callers can match on them."""


class LLMBadResponse(LLMError):
    """The server answered, but not with something we can read as a chat completion."""


class LLMTimeout(LLMError):
    """No reply arrived in the allowed time (a network request, or a person in manual mode)."""


class LLMRetryBudgetExhausted(LLMError):
    """Transient failures (429, 5xx, timeouts, dropped connections) outlasted the retry budget."""

    def __init__(self, message: str, *, attempts: int, last_status: int | None, last_error: str) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.last_status = last_status
        self.last_error = last_error


class LLMTimedOutAfterRetries(LLMRetryBudgetExhausted, LLMTimeout):
    """The budget ran out and the last attempt was a timeout: the server is too slow for the timeout set."""
