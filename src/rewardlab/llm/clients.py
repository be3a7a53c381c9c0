"""One SDK client per running event loop.

An async SDK client (httpx/httpx2 underneath) is bound to the event loop it was created on, and the sync
sampler runs each call on a loop of its own; so a backend keeps one client per loop, made on first use and
dropped with the loop.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any


class LoopClients:
    """Per-loop cache of clients made by `make()`; `aclose()` closes the current loop's client."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()

    def get(self) -> Any:
        loop = asyncio.get_running_loop()
        client = self._by_loop.get(loop)
        if client is None:
            client = self._make()
            self._by_loop[loop] = client
        return client

    async def aclose(self) -> None:
        client = self._by_loop.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()
