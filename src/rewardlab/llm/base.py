"""The backend contract and the one sampler every caller uses.

A backend does one thing: turn one request into the completions the server returned, with retries. All
policy that must not differ between providers lives in :func:`asample`: asking for ``n`` only where it can
work, counting what came back, topping up with concurrent ``n=1`` calls behind a semaphore, the response
cache and the usage ledger.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from rewardlab.llm.errors import LLMBadResponse
from rewardlab.llm.types import Completion, Message, NSupport, Usage, normalize_messages

if TYPE_CHECKING:
    from rewardlab.llm.cache import ResponseCache
    from rewardlab.llm.ledger import Ledger

log = logging.getLogger("rewardlab.llm")

T = TypeVar("T")

DEFAULT_CONCURRENCY = 4
"""Requests in flight at once when neither the caller nor the backend says otherwise."""


@runtime_checkable
class Backend(Protocol):
    """What the sampler needs from a provider.

    ``complete`` returns *up to* ``n`` completions: servers that ignore ``n`` return one, and the sampler
    counts. ``indices`` names the sample numbers the request stands for; stateless backends ignore it, the
    manual backend names its files by it so that a resumed run asks a person only for the missing samples.
    ``n_support`` may be updated by the sampler once it has seen how the server behaves.

    Optional members the sampler uses when a backend has them: ``concurrency`` (requests the server works
    on at once, None when unknown) and ``async prepare()`` (learn about the server before the first call).
    """

    kind: str
    model: str
    n_support: NSupport

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        n: int = 1,
        temperature: float = 1.0,
        max_tokens: int = 1024,
        indices: Sequence[int] | None = None,
    ) -> list[Completion]: ...

    def describe(self) -> str:
        """Human-readable identity for messages and logs; never contains a key."""
        ...

    async def aclose(self) -> None:
        """Release connections made on the running event loop."""
        ...


async def asample(
    backend: Backend,
    messages: Sequence[Message],
    n: int = 1,
    *,
    temperature: float = 1.0,
    max_tokens: int = 1024,
    cache: ResponseCache | None = None,
    ledger: Ledger | None = None,
    concurrency: int | None = None,
    max_n_per_request: int = 8,
    first_index: int = 0,
) -> list[Completion]:
    """Get exactly ``n`` completions for ``messages``, as cheaply as the backend allows.

    Samples are numbered ``first_index .. first_index + n - 1``; each is cached under its number, so a
    resumed or repeated run asks the server only for the numbers it lacks (zero calls when all are cached).
    Pass a higher ``first_index`` to get fresh samples of a prompt that was already sampled.

    If some calls fail, the others still finish and are cached, then the first error is raised with a note
    saying how many samples arrived.

    ``concurrency`` bounds the requests in flight; None takes the backend's (told, or learned from the
    server: one for llama-cpp-python) or else ``DEFAULT_CONCURRENCY``.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    if (concurrency is not None and concurrency < 1) or max_n_per_request < 1:
        raise ValueError("concurrency and max_n_per_request must be at least 1")
    msgs = normalize_messages(messages)
    indices = list(range(first_index, first_index + n))
    got: dict[int, Completion] = {}

    for index in indices:
        hit = cache.get(backend, msgs, temperature, max_tokens, index) if cache is not None else None
        if hit is not None:
            got[index] = hit
            if ledger is not None:
                ledger.record(
                    backend.kind,
                    backend.model,
                    hit.usage,
                    n_requested=1,
                    n_returned=1,
                    latency_s=0.0,
                    cached=True,
                )
    missing = [i for i in indices if i not in got]
    if not missing:
        return [got[i] for i in indices]

    prepare = getattr(backend, "prepare", None)
    if prepare is not None:
        await prepare()
    if concurrency is None:
        concurrency = getattr(backend, "concurrency", None) or DEFAULT_CONCURRENCY
    semaphore = asyncio.Semaphore(concurrency)

    async def call(batch: list[int]) -> None:
        async with semaphore:
            started = time.monotonic()
            completions = await backend.complete(
                msgs, n=len(batch), temperature=temperature, max_tokens=max_tokens, indices=batch
            )
            latency = time.monotonic() - started
        if not completions:
            raise LLMBadResponse(f"{backend.describe()} returned no choices; the server may be misconfigured")
        completions = completions[: len(batch)]
        if len(batch) > 1:
            _learn_n_support(backend, requested=len(batch), returned=len(completions))
        if ledger is not None:
            total = _sum_usage(c.usage for c in completions)
            ledger.record(
                backend.kind,
                backend.model,
                total,
                n_requested=len(batch),
                n_returned=len(completions),
                latency_s=latency,
                cached=False,
            )
        for index, completion in zip(batch, completions, strict=False):
            got[index] = completion
            if cache is not None:
                cache.put(backend, msgs, temperature, max_tokens, index, completion)

    errors: list[BaseException] = []
    batched = len(missing) > 1 and backend.n_support is not NSupport.NO
    if batched:
        batches = [missing[i : i + max_n_per_request] for i in range(0, len(missing), max_n_per_request)]
        errors += _failures(await asyncio.gather(*(call(b) for b in batches), return_exceptions=True))
    shortfall = [i for i in missing if i not in got]
    if shortfall and not errors:
        if batched:
            log.info(
                "%s returned fewer choices than asked; topping up with %d n=1 calls",
                backend.describe(),
                len(shortfall),
            )
        errors += _failures(await asyncio.gather(*(call([i]) for i in shortfall), return_exceptions=True))

    if errors:
        first = errors[0]
        have = sum(1 for i in indices if i in got)
        first.add_note(
            f"{have} of {n} samples arrived{' and were cached' if cache is not None else ''}; "
            f"{len(errors)} request(s) failed."
        )
        raise first
    return [got[i] for i in indices]


def sample(backend: Backend, messages: Sequence[Message], n: int = 1, **kwargs: Any) -> list[Completion]:
    """Blocking :func:`asample` for plain synchronous code (also safe inside Jupyter's running loop).

    The backend's connections belong to the event loop that made them, so they are closed before the loop
    started here ends.
    """

    async def run() -> list[Completion]:
        try:
            return await asample(backend, messages, n, **kwargs)
        finally:
            close = getattr(backend, "aclose", None)
            if close is not None:
                await close()

    return run_sync(run())


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, in a helper thread if this thread already has a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="rewardlab-llm-sync", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _learn_n_support(backend: Backend, *, requested: int, returned: int) -> None:
    if backend.n_support is not NSupport.UNKNOWN:
        return
    backend.n_support = NSupport.YES if returned >= requested else NSupport.NO
    if backend.n_support is NSupport.NO:
        log.info(
            "%s ignores n (asked %d, got %d); using n=1 calls from now on",
            backend.describe(),
            requested,
            returned,
        )


def _failures(results: Sequence[object]) -> list[BaseException]:
    return [r for r in results if isinstance(r, BaseException)]


def _sum_usage(usages: Any) -> Usage:
    items = list(usages)
    return Usage(
        prompt_tokens=sum(u.prompt_tokens for u in items),
        completion_tokens=sum(u.completion_tokens for u in items),
        estimated=any(u.estimated for u in items),
    )
