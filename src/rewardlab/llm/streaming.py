"""Streamed replies: a timeout on silence instead of on length, and a meter of the tokens arriving.

A local model on a CPU can need many minutes for one reply while producing tokens all along. Waiting for
the whole reply with one timeout cannot tell that server from a dead one, so the HTTP backends stream:
`read_stream` gives up only when no token has arrived for `silence_s` seconds (keep-alive comments and
ping events do not count as tokens), and the process-wide `METER` counts the tokens of every reply in
flight, for progress lines (`watch_streams`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


class StreamSilent(Exception):
    """No token arrived for `silence_s` seconds (the reply was abandoned and the connection closed)."""

    def __init__(self, silence_s: float, tokens: int) -> None:
        self.silence_s = silence_s
        self.tokens = tokens
        started = f"after {tokens} token(s)" if tokens else "before the first token"
        super().__init__(f"no token for {silence_s:g} s ({started})")


async def read_stream(
    chunks: AsyncIterator[T],
    *,
    silence_s: float,
    tokens_in: Callable[[T], int],
    on_tokens: Callable[[int], None] | None = None,
) -> list[T]:
    """Every chunk of `chunks`, failing with StreamSilent when `silence_s` seconds pass without a chunk
    that carries tokens (`tokens_in(chunk) > 0`); the first token has the same allowance (a server
    evaluating a long prompt sends nothing until then)."""
    out: list[T] = []
    received = 0
    deadline = time.monotonic() + silence_s
    iterator = chunks.__aiter__()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise StreamSilent(silence_s, received)
        try:
            chunk = await asyncio.wait_for(iterator.__anext__(), timeout=remaining)
        except StopAsyncIteration:
            return out
        except TimeoutError:
            raise StreamSilent(silence_s, received) from None
        out.append(chunk)
        n = tokens_in(chunk)
        if n > 0:
            received += n
            deadline = time.monotonic() + silence_s
            if on_tokens is not None:
                on_tokens(n)


@dataclass(frozen=True)
class StreamStatus:
    """The replies being received right now, over all backends of this process."""

    in_flight: int
    tokens: int
    """Tokens received so far by the replies in flight."""
    seconds: float
    """Since the oldest reply in flight started."""

    def describe(self) -> str:
        if not self.in_flight:
            return ""
        rate = f", {self.tokens / self.seconds:.1f} tok/s" if self.seconds >= 1 and self.tokens else ""
        waiting = " (waiting for the first token)" if not self.tokens else ""
        replies = "reply" if self.in_flight == 1 else "replies"
        return f"llm streaming {self.in_flight} {replies}: {self.tokens} tok{rate}{waiting}"


class TokenMeter:
    """Counts streamed tokens per reply in flight and tells the listeners (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._open: dict[int, tuple[float, int]] = {}
        self._listeners: list[Callable[[StreamStatus], None]] = []

    @contextlib.contextmanager
    def reply(self) -> Iterator[Callable[[int], None]]:
        """Context of one reply; yields the function to call with each batch of tokens received."""
        key = next(self._ids)
        with self._lock:
            self._open[key] = (time.monotonic(), 0)
        self._notify()

        def add(n: int) -> None:
            with self._lock:
                started, count = self._open.get(key, (time.monotonic(), 0))
                self._open[key] = (started, count + n)
            self._notify()

        try:
            yield add
        finally:
            with self._lock:
                self._open.pop(key, None)
            self._notify()

    def status(self) -> StreamStatus:
        with self._lock:
            if not self._open:
                return StreamStatus(0, 0, 0.0)
            first = min(started for started, _ in self._open.values())
            tokens = sum(count for _, count in self._open.values())
            return StreamStatus(len(self._open), tokens, time.monotonic() - first)

    def add_listener(self, listener: Callable[[StreamStatus], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[StreamStatus], None]) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def _notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        if listeners:
            status = self.status()
            for listener in listeners:
                with contextlib.suppress(Exception):  # a display must never break a request
                    listener(status)


METER = TokenMeter()
"""The process-wide meter every streaming backend reports to."""


@contextlib.contextmanager
def watch_streams(callback: Callable[[StreamStatus], Any], every_s: float = 1.0) -> Iterator[None]:
    """Call `callback(status)` while replies stream in: at most once per `every_s` seconds, and always
    when a reply starts or ends. For progress lines; the callback runs in the thread that receives."""
    last = {"t": -float("inf"), "in_flight": -1}

    def listener(status: StreamStatus) -> None:
        now = time.monotonic()
        if status.in_flight != last["in_flight"] or now - last["t"] >= every_s:
            last["t"], last["in_flight"] = now, status.in_flight
            callback(status)

    METER.add_listener(listener)
    try:
        yield
    finally:
        METER.remove_listener(listener)


def content_tokens(chunk: Any) -> int:
    """Pieces of text in an OpenAI chat-completion chunk (about one token each)."""
    choices = getattr(chunk, "choices", None) or []
    return sum(1 for c in choices if getattr(getattr(c, "delta", None), "content", None))
