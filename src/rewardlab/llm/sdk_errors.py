"""Translate the exceptions of the official SDKs into retryable failures or actionable ``LLMError``s.

The ``openai`` and ``anthropic`` SDKs are generated from the same template and share an exception layout
(``APIStatusError`` with ``status_code``, ``response.headers`` and ``body``; ``APITimeoutError`` under
``APIConnectionError``), so one translator serves both; the SDK module is passed in, keeping imports lazy.
"""

from __future__ import annotations

import json
import re
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from rewardlab.llm.errors import LLMBadResponse, LLMRequestRejected
from rewardlab.llm.retry import Failure, parse_retry_after

MAX_SERVER_MESSAGE = 300


def classify_sdk_error(
    exc: BaseException, sdk: ModuleType, *, what: str, timeout_s: float, key_hint: str
) -> Failure | None:
    """A ``Failure`` for transient errors; raises ``LLMError`` for permanent ones; None if not the SDK's."""
    if isinstance(exc, sdk.APITimeoutError):
        return Failure(f"no reply within the {timeout_s:g} s timeout", timed_out=True)
    if isinstance(exc, sdk.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        detail = f" ({type(cause).__name__}: {cause})" if cause is not None else ""
        return Failure(f"connection failed{detail}")
    if isinstance(exc, sdk.APIStatusError):
        status = int(exc.status_code)
        headers = exc.response.headers
        message = server_message(exc)
        transient = status in (408, 409, 429) or status >= 500
        should_retry = headers.get("x-should-retry")
        if should_retry in ("true", "false"):
            transient = should_retry == "true"
        if transient:
            return Failure(
                f"HTTP {status}: {message}", status=status, retry_after_s=parse_retry_after(headers)
            )
        raise LLMRequestRejected(
            f"{what}: the server refused the request with HTTP {status}: {message}. "
            f"Hint: {_status_hint(status, key_hint)}.",
            status=status,
            detail=message,
        ) from exc
    if isinstance(exc, ValueError):  # json.JSONDecodeError, pydantic.ValidationError
        raise LLMBadResponse(
            f"{what}: the server's reply is not valid JSON or not a chat completion ({type(exc).__name__}: "
            f"{_short(str(exc))}). Hint: check that the base URL points at the API (it usually ends in /v1) "
            "and that the server speaks this protocol."
        ) from exc
    return None


def server_message(exc: Any) -> str:
    """The human part of an error body: ``{"error": {"message": ...}}`` or ``{"message": ...}`` or text."""
    body = getattr(exc, "body", None)
    candidates: list[Any] = []
    if isinstance(body, dict):
        inner = body.get("error", body)
        candidates += [inner.get("message") if isinstance(inner, dict) else inner, body.get("message")]
    elif isinstance(body, str):
        candidates.append(body)
    candidates.append(getattr(exc, "message", None))
    for text in candidates:
        if isinstance(text, str) and text.strip():
            return _short(text.strip())
    return _short(json.dumps(body, default=str)) if body is not None else "(no message)"


def rejects_param(exc: LLMRequestRejected, pattern: str) -> bool:
    """Whether a 400/422 complains about a parameter: a regex over the server's lower-cased message."""
    return exc.status in (400, 422) and re.search(pattern, exc.detail.lower()) is not None


def redact_url(url: str) -> str:
    """Drop ``user:password@`` from a URL before it goes into a message or a log line."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


def _status_hint(status: int, key_hint: str) -> str:
    if status in (401, 403):
        return f"check the API key ({key_hint}) and that it may use this model"
    if status == 404:
        return "check the model name and the base URL (OpenAI-compatible servers usually serve under /v1)"
    if status == 413:
        return "the prompt is too large for this server; shorten it"
    return "a request parameter was not accepted; the message above names it"


def _short(text: str) -> str:
    return text if len(text) <= MAX_SERVER_MESSAGE else text[: MAX_SERVER_MESSAGE - 1] + "…"
