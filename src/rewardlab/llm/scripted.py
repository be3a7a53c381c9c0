"""A backend that answers from a script, for testing the layers above without any server.

Replies come from a list (handed out in order, an error when it runs out, so a test notices when the code
under test asks more often than expected) or from a function of the messages (for replies that depend on
the feedback a loop sends). Every request is recorded in ``calls``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rewardlab.llm.errors import LLMError
from rewardlab.llm.types import (
    Completion,
    Message,
    NSupport,
    Usage,
    estimate_prompt_tokens,
    estimate_tokens,
    normalize_messages,
    split_usage,
)

Reply = str | Completion
ReplyFn = Callable[[list[dict[str, str]]], Reply]


@dataclass(frozen=True)
class ScriptedCall:
    """One request the scripted backend received."""

    messages: list[dict[str, str]]
    n: int
    temperature: float
    max_tokens: int
    indices: tuple[int, ...]


class ScriptedBackend:
    """Returns pre-set replies; usage is estimated (chars/4) unless a reply is a full ``Completion``."""

    kind = "scripted"

    def __init__(
        self,
        replies: Sequence[Reply] | ReplyFn,
        *,
        model: str = "scripted",
        n_support: NSupport = NSupport.YES,
    ) -> None:
        self.model = model
        self.n_support = n_support
        self._fn: ReplyFn | None = replies if callable(replies) else None
        self._queue: list[Reply] = [] if callable(replies) else list(replies)
        self._handed_out = 0
        self.calls: list[ScriptedCall] = []

    def describe(self) -> str:
        return f"scripted:{self.model}"

    async def aclose(self) -> None:
        return None

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        n: int = 1,
        temperature: float = 1.0,
        max_tokens: int = 1024,
        indices: Sequence[int] | None = None,
    ) -> list[Completion]:
        msgs = normalize_messages(messages)
        index_tuple = tuple(indices) if indices is not None else tuple(range(n))
        self.calls.append(ScriptedCall(msgs, n, temperature, max_tokens, index_tuple))
        count = n if self.n_support is not NSupport.NO else 1
        replies = [self._next(msgs) for _ in range(count)]
        prompt_shares = split_usage(Usage(estimate_prompt_tokens(msgs), 0, estimated=True), ["x"] * count)
        return [
            self._completion(reply, share.prompt_tokens)
            for reply, share in zip(replies, prompt_shares, strict=True)
        ]

    def _next(self, msgs: list[dict[str, str]]) -> Reply:
        if self._fn is not None:
            return self._fn(msgs)
        if self._handed_out >= len(self._queue):
            raise LLMError(f"scripted backend ran out of replies after handing out {self._handed_out}")
        reply = self._queue[self._handed_out]
        self._handed_out += 1
        return reply

    @staticmethod
    def _completion(reply: Reply, prompt_tokens: int) -> Completion:
        if isinstance(reply, Completion):
            return reply
        usage = Usage(prompt_tokens, estimate_tokens(reply), estimated=True)
        return Completion(text=reply, finish_reason="stop", usage=usage)
