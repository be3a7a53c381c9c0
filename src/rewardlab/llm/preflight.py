"""Before a run: is the LLM endpoint there? A check that costs seconds and no tokens.

`check_backend(backend)` asks a network backend for its model list (`GET /v1/models`), which generates
nothing and so costs nothing, yet shows that the server is up, that it speaks the API and (for hosted
APIs) that the key is accepted. What the server says about itself is kept for the process, so the run's
sampler knows at once how many requests it may send at a time. Manual and scripted backends have nothing
to reach and are not checked.
"""

from __future__ import annotations

from typing import Any

from rewardlab.llm.base import run_sync
from rewardlab.llm.server import ServerInfo

CHECK_TIMEOUT_S = 10.0


def check_backend(backend: Any, timeout_s: float = CHECK_TIMEOUT_S) -> ServerInfo | None:
    """The server's answer about itself; None for backends without a server. Raises LLMUnreachable when
    nothing answers at the URL and LLMRequestRejected when the key is refused."""
    check = getattr(backend, "check", None)
    if check is None:
        return None

    async def run() -> ServerInfo:
        try:
            return await check(timeout_s)
        finally:
            close = getattr(backend, "aclose", None)
            if close is not None:
                await close()

    return run_sync(run())
