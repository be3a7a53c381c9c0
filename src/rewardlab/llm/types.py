"""Records that flow out of the LLM layer: what a model said and what it cost.

They are frozen so that a completion handed to the search loop, written to the cache and counted in the
ledger is the same value everywhere. Messages stay plain ``{"role", "content"}`` dicts because that is the
shape every SDK and every run folder already uses; :func:`normalize_messages` checks them once at the edge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

Message = Mapping[str, str]
"""One chat message: ``{"role": "system" | "user" | "assistant", "content": str}``."""

ROLES = ("system", "user", "assistant")

CHARS_PER_TOKEN = 4
"""Rough English/code ratio used when a server reports no usage; good to ~30%, marked as an estimate."""


class NSupport(StrEnum):
    """Whether a backend honours ``n`` (several choices from one request).

    ``n`` is not portable: OpenAI and vLLM honour it, llama-cpp-python silently returns one choice, Ollama
    ignores it, llama.cpp's server and Anthropic's compatibility layer reject it. ``UNKNOWN`` means "ask for n
    and count what comes back"; the sampler turns it into ``YES`` or ``NO`` after the first answer.
    """

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Usage:
    """Tokens spent on one completion (or one call); ``estimated`` when the server sent no numbers."""

    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "estimated": self.estimated,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Usage:
        return cls(
            prompt_tokens=int(data["prompt_tokens"]),
            completion_tokens=int(data["completion_tokens"]),
            estimated=bool(data.get("estimated", False)),
        )


@dataclass(frozen=True)
class Completion:
    """One sampled reply.

    ``finish_reason`` uses the OpenAI vocabulary (``stop``, ``length``, ``content_filter``, ``tool_calls``)
    whatever the backend, so callers check ``truncated`` once instead of per provider. ``usage`` is this
    completion's share of its call (see :func:`split_usage`): summing over completions gives what was billed.
    """

    text: str
    finish_reason: str
    usage: Usage

    @property
    def truncated(self) -> bool:
        """True when the model hit ``max_tokens``: the code at the end of the reply may be cut off."""
        return self.finish_reason == "length"

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "finish_reason": self.finish_reason, "usage": self.usage.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Completion:
        return cls(
            text=str(data["text"]),
            finish_reason=str(data["finish_reason"]),
            usage=Usage.from_dict(data["usage"]),
        )


def normalize_messages(messages: Sequence[Message]) -> list[dict[str, str]]:
    """Check roles and content once, so every backend and the cache key see the same plain dicts.

    Raises ``ValueError`` because a malformed conversation is a programming error in the caller, not
    something a retry could fix.
    """
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise ValueError("messages must be a list of {'role': ..., 'content': ...} dicts")
    if not messages:
        raise ValueError("messages is empty: send at least one user message")
    out: list[dict[str, str]] = []
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise ValueError(
                f"message {i} is {type(message).__name__}, expected a dict with role and content"
            )
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise ValueError(f"message {i} has role {role!r}; expected one of {', '.join(ROLES)}")
        if not isinstance(content, str):
            raise ValueError(f"message {i} content must be a str, got {type(content).__name__}")
        out.append({"role": str(role), "content": content})
    return out


def estimate_tokens(text: str) -> int:
    """About one token per four characters; used only when the server reports no usage."""
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


def estimate_prompt_tokens(messages: Sequence[Message]) -> int:
    return sum(estimate_tokens(str(m.get("content", ""))) for m in messages)


def split_usage(total: Usage, texts: Sequence[str]) -> list[Usage]:
    """Share one call's usage among its choices so that the shares add up exactly to the call's total.

    Servers report usage per request, not per choice. The prompt is shared evenly; completion tokens are
    shared in proportion to each text's length (largest remainder), which keeps sums exact for the ledger.
    """
    k = len(texts)
    if k == 0:
        return []
    prompt = _even_shares(total.prompt_tokens, k)
    weights = [len(t) for t in texts]
    completion = (
        _proportional_shares(total.completion_tokens, weights)
        if sum(weights) > 0
        else _even_shares(total.completion_tokens, k)
    )
    return [Usage(p, c, total.estimated) for p, c in zip(prompt, completion, strict=True)]


def _even_shares(amount: int, k: int) -> list[int]:
    base, extra = divmod(amount, k)
    return [base + (1 if i < extra else 0) for i in range(k)]


def _proportional_shares(amount: int, weights: Sequence[int]) -> list[int]:
    whole = sum(weights)
    raw = [amount * w / whole for w in weights]
    shares = [math.floor(r) for r in raw]
    leftover = amount - sum(shares)
    by_remainder = sorted(range(len(raw)), key=lambda i: raw[i] - shares[i], reverse=True)
    for i in by_remainder[:leftover]:
        shares[i] += 1
    return shares
