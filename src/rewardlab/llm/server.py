"""What a self-hosted OpenAI-compatible server tells about itself, asked with cheap GET requests.

* `probe_server`: is anything listening at the URL, does it accept the key, and what is it? `/v1/models`
  names its owner: `llamacpp` (llama.cpp's `llama-server`, whose `/props` gives its number of slots) or
  `me` (llama-cpp-python, which serves one request at a time and, by default, interrupts a streaming
  reply when another request arrives). Both get a concurrency of one slot per request in flight.
* `wait_until_idle`: before a timed-out request is sent again, wait for the server to finish what it may
  still be computing for the abandoned one, so the retry does not queue behind it (llama.cpp: poll
  `/slots` until no slot is processing; llama-cpp-python: `/v1/models` answers only once its model is
  free; other servers run requests side by side and answer at once).

The SDK's own client does the requests (the SDK module and client are passed in, keeping imports lazy).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from rewardlab.llm.errors import LLMRequestRejected, LLMUnreachable
from rewardlab.llm.sdk_errors import redact_url

log = logging.getLogger("rewardlab.llm")

ONE_AT_A_TIME_OWNERS = {"me": "llama-cpp-python"}
"""`owned_by` values of servers that generate one reply at a time whatever they are sent."""
LLAMA_CPP_OWNER = "llamacpp"


@dataclass(frozen=True)
class ServerInfo:
    """What a server said about itself; None where it did not say."""

    reachable: bool
    server: str | None = None
    """`llama.cpp`, `llama-cpp-python`, or the `owned_by` of its first model."""
    concurrency: int | None = None
    """Requests it works on at once, when it says so (llama.cpp's slots) or is known to (1)."""
    models: tuple[str, ...] = ()
    busy: bool = False
    """It accepted the connection but did not answer within the probe's timeout (working on something)."""


async def probe_server(
    client: Any,
    sdk: ModuleType,
    base_url: str,
    *,
    timeout_s: float,
    what: str,
    key_hint: str,
    models_path: str = "/models",
) -> ServerInfo:
    """Ask `GET {base_url}/models` (and llama.cpp's `/props`). Raises LLMUnreachable when nothing answers
    at the URL, LLMRequestRejected for a refused key; any other answer (even a 404) means reachable."""
    try:
        data = await client.get(models_path, cast_to=object, options={"timeout": timeout_s})
    except sdk.APITimeoutError as exc:
        if _connect_phase(exc):
            detail = f"no connection within {timeout_s:g} s"
            raise LLMUnreachable(_unreachable(what, base_url, detail)) from None
        # Servers that run requests side by side answer a model list at once, even under load; one that
        # does not is busy with a request: treat it as a one-at-a-time server (llama-cpp-python's list
        # waits for its model).
        return ServerInfo(reachable=True, server="busy: slow to list its models", concurrency=1, busy=True)
    except sdk.APIConnectionError as exc:
        cause = exc.__cause__ or exc.__context__
        detail = f"{type(cause).__name__}: {cause}" if cause is not None else "connection failed"
        raise LLMUnreachable(_unreachable(what, base_url, detail)) from None
    except sdk.APIStatusError as exc:
        status = int(exc.status_code)
        if status in (401, 403):
            raise LLMRequestRejected(
                f"{what}: the server refused the key (HTTP {status}). Hint: check the API key ({key_hint}).",
                status=status,
            ) from None
        return ServerInfo(reachable=True)
    except ValueError:  # not JSON: something answers, maybe not the API (the first request will say)
        return ServerInfo(reachable=True)
    rows = data.get("data") if isinstance(data, dict) else None
    rows = [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
    models = tuple(str(r.get("id")) for r in rows if r.get("id") is not None)
    owner = next((str(r["owned_by"]) for r in rows if r.get("owned_by")), None)
    if owner == LLAMA_CPP_OWNER:
        slots = await _llama_cpp_slots(client, base_url, timeout_s)
        return ServerInfo(True, "llama.cpp", slots or 1, models)
    if owner in ONE_AT_A_TIME_OWNERS:
        return ServerInfo(True, ONE_AT_A_TIME_OWNERS[owner], 1, models)
    return ServerInfo(True, owner, None, models)


async def wait_until_idle(client: Any, info: ServerInfo, base_url: str, *, limit_s: float) -> float:
    """Wait (at most `limit_s`) until the server has no request in progress; returns the seconds waited.

    Only servers that tell (llama.cpp's `/slots`) or that answer only when idle (llama-cpp-python's
    `/v1/models`) are waited for; for the others there is nothing to wait for and this returns at once.
    """
    started = time.monotonic()
    deadline = started + limit_s
    if info.server == "llama.cpp":
        url = _root(base_url) + "/slots"
        while time.monotonic() < deadline:
            try:
                slots = await client.get(url, cast_to=object, options={"timeout": 10.0})
            except Exception:
                break  # /slots disabled or the server gone: nothing more to learn
            busy = isinstance(slots, list) and any(
                isinstance(s, dict) and (s.get("is_processing") or s.get("state") == 1) for s in slots
            )
            if not busy:
                break
            await asyncio.sleep(1.0)
    elif info.server in ONE_AT_A_TIME_OWNERS.values():
        remaining = max(deadline - time.monotonic(), 0.1)
        with contextlib.suppress(Exception):  # still busy at the limit, or gone: the retry will tell
            await client.get("/models", cast_to=object, options={"timeout": remaining})
    waited = time.monotonic() - started
    if waited >= 1.0:
        log.info("waited %.1f s for the server to finish the abandoned request", waited)
    return waited


_KNOWN: dict[str, ServerInfo] = {}


def known_server(base_url: str) -> ServerInfo | None:
    """What a server said about itself earlier in this process (backends are built per call)."""
    return _KNOWN.get(base_url)


def remember_server(base_url: str, info: ServerInfo) -> None:
    if info.reachable and not info.busy:
        _KNOWN[base_url] = info


async def _llama_cpp_slots(client: Any, base_url: str, timeout_s: float) -> int | None:
    try:
        props = await client.get(_root(base_url) + "/props", cast_to=object, options={"timeout": timeout_s})
    except Exception:
        return None
    slots = props.get("total_slots") if isinstance(props, dict) else None
    return slots if isinstance(slots, int) and slots > 0 else None


def _root(base_url: str) -> str:
    """`http://host:port/v1` -> `http://host:port` (llama.cpp serves /props and /slots at the root)."""
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):
        path = path[: -len("/v1")]
    return urlunsplit((parts.scheme, parts.netloc, path, "", "")).rstrip("/")


def _connect_phase(exc: BaseException) -> bool:
    cause = exc.__cause__ or exc.__context__
    return cause is not None and "Connect" in type(cause).__name__


def _unreachable(what: str, base_url: str, detail: str) -> str:
    return (
        f"{what}: nothing answers at {redact_url(base_url)} ({detail}). Hint: start the server, or fix "
        "the URL (OpenAI-compatible servers usually serve under /v1); `rewardlab llm ping SPEC` tests it"
    )
