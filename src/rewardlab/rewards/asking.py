"""One question a host reward source asks an LLM: the disk cache first, then the LLM, with a time limit.

Shared by the LLM judge and ELLM's goal suggester, which differ in what they ask and how they read the
answer, not in how a question is asked, counted and recorded. It never raises: a failed or timed-out
request comes back as its exception, which the source turns into its configured default, so an LLM's
trouble can slow a training but never stop it.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping, Sequence

from rewardlab.llm.base import Backend, asample
from rewardlab.llm.cache import ResponseCache
from rewardlab.llm.ledger import Ledger
from rewardlab.llm.types import Message


async def ask_once(
    backend: Backend,
    msgs: Sequence[Message],
    *,
    temperature: float,
    max_tokens: int,
    timeout_s: float,
    cache: ResponseCache | None,
    ledger: Ledger,
    counts: MutableMapping[str, int],
) -> str | BaseException:
    """The reply's text ('' when empty), or the exception that stopped the request.

    A cached answer costs nothing and is counted in `counts["cache_hits"]` (and in the ledger as cached);
    a request to the LLM is counted in `counts["requests"]` and goes through the LLM layer's retries.
    """
    if cache is not None:
        hit = cache.get(backend, msgs, temperature, max_tokens, 0)
        if hit is not None:
            counts["cache_hits"] += 1
            ledger.record(
                backend.kind, backend.model, hit.usage,
                n_requested=1, n_returned=1, latency_s=0.0, cached=True,
            )
            return hit.text or ""
    counts["requests"] += 1
    try:
        replies = await asyncio.wait_for(
            asample(
                backend, msgs, 1, temperature=temperature, max_tokens=max_tokens,
                cache=cache, ledger=ledger, concurrency=1,
            ),
            timeout=timeout_s,
        )
        return replies[0].text or ""
    except Exception as exc:  # an LLM failure of any kind must not stop the training
        return exc


def failure_text(exc: BaseException) -> str:
    """A failed request in a few words, for a source's error list."""
    return "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
