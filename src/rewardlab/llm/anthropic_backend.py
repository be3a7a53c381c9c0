"""Claude through Anthropic's native Messages API, on the ``anthropic`` SDK (optional extra).

The Messages API has no ``n``: each call returns one completion and the sampler tops up with concurrent
calls. System messages go into the ``system`` parameter; ``stop_reason`` is mapped to the OpenAI vocabulary
(``max_tokens`` -> ``length``) so callers check truncation one way. Recent SDKs (2.x) no longer take
``temperature``; it is sent only where the installed SDK accepts it.

Replies are streamed, so ``timeout_s`` bounds silence (no text for that long), not a reply's length.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from typing import Any

from rewardlab.llm.clients import LoopClients
from rewardlab.llm.errors import LLMBadResponse, LLMConfigError
from rewardlab.llm.retry import Failure, RetryPolicy, call_with_retries
from rewardlab.llm.sdk_errors import classify_sdk_error, redact_url
from rewardlab.llm.server import ServerInfo, probe_server
from rewardlab.llm.streaming import METER, StreamSilent, read_stream
from rewardlab.llm.types import (
    Completion,
    Message,
    NSupport,
    Usage,
    estimate_prompt_tokens,
    estimate_tokens,
    normalize_messages,
)

log = logging.getLogger("rewardlab.llm")

STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def _import_anthropic() -> Any:
    try:
        import anthropic
    except ImportError as exc:
        raise LLMConfigError(
            "the Anthropic backend needs the anthropic package: pip install 'rewardlab[anthropic]'"
        ) from exc
    return anthropic


class AnthropicBackend:
    """Messages API calls, one completion each; one SDK client per event loop."""

    kind = "anthropic"

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None,
        base_url: str | None = None,
        timeout_s: float = 120.0,
        retry: RetryPolicy | None = None,
        key_hint: str = "$ANTHROPIC_API_KEY or $REWARDLAB_LLM_API_KEY",
        concurrency: int | None = None,
        stream: bool = True,
    ) -> None:
        if not api_key:
            raise LLMConfigError(
                f"no API key for anthropic:{model}: set ANTHROPIC_API_KEY (or REWARDLAB_LLM_API_KEY)"
            )
        self.model = model
        self.base_url = base_url
        self.timeout_s = float(timeout_s)
        self.retry = retry or RetryPolicy()
        self.n_support = NSupport.NO
        self.concurrency = concurrency
        self.stream = stream
        self._api_key = api_key
        self._key_hint = key_hint
        self._clients = LoopClients(self._new_client)
        self._sends_temperature: bool | None = None

    def __repr__(self) -> str:
        return f"AnthropicBackend({self.describe()!r})"

    def describe(self) -> str:
        where = f" at {redact_url(self.base_url)}" if self.base_url else ""
        return f"anthropic:{self.model}{where}"

    async def aclose(self) -> None:
        await self._clients.aclose()

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        n: int = 1,
        temperature: float = 1.0,
        max_tokens: int = 1024,
        indices: Sequence[int] | None = None,
    ) -> list[Completion]:
        """One completion whatever ``n`` is: the API has no ``n``, and the sampler counts and tops up."""
        msgs = normalize_messages(messages)
        system = "\n\n".join(m["content"] for m in msgs if m["role"] == "system")
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": max_tokens,
            "messages": [m for m in msgs if m["role"] != "system"],
        }
        if system:
            params["system"] = system
        client = self._client()
        if self._accepts_temperature(client):
            params["temperature"] = min(max(temperature, 0.0), 1.0)
        if not self.stream:
            response = await call_with_retries(
                lambda: client.messages.create(**params),
                classify=self._classify,
                policy=self.retry,
                what=self.describe(),
            )
            return [self._read(response, msgs)]
        return [
            await call_with_retries(
                lambda: self._streamed(client, params, msgs),
                classify=self._classify,
                policy=self.retry,
                what=self.describe(),
            )
        ]

    async def check(self, timeout_s: float = 10.0) -> ServerInfo:
        """Is the endpoint there and the key accepted? A GET of the model list (generates nothing)."""
        return await probe_server(
            self._client(),
            _import_anthropic(),
            (self.base_url or "https://api.anthropic.com").rstrip("/") + "/v1",
            timeout_s=timeout_s,
            what=self.describe(),
            key_hint=self._key_hint,
            models_path="/v1/models",
        )

    async def _streamed(self, client: Any, params: dict[str, Any], msgs: list[dict[str, str]]) -> Completion:
        """One streamed Messages call: text deltas joined, the stop reason and usage from their events."""
        stream = await client.messages.create(**params, stream=True)
        try:
            with METER.reply() as add:
                events = await read_stream(
                    stream, silence_s=self.timeout_s, tokens_in=_progress, on_tokens=add
                )
        finally:
            await stream.close()
        text, stop, inp, out = [], None, None, None
        for event in events:
            kind = getattr(event, "type", None)
            if kind == "message_start":
                inp = getattr(getattr(getattr(event, "message", None), "usage", None), "input_tokens", None)
            elif kind == "content_block_delta":
                piece = getattr(getattr(event, "delta", None), "text", None)
                if isinstance(piece, str):
                    text.append(piece)
            elif kind == "message_delta":
                stop = getattr(getattr(event, "delta", None), "stop_reason", None) or stop
                out = getattr(getattr(event, "usage", None), "output_tokens", None)
        if not events:
            raise LLMBadResponse(f"{self.describe()}: the reply has no events; is the base URL right?")
        joined = "".join(text)
        finish = STOP_REASONS.get(str(stop), str(stop)) if stop else "unknown"
        return Completion(text=joined, finish_reason=finish, usage=_usage(inp, out, msgs, joined))

    def _client(self) -> Any:
        return self._clients.get()

    def _new_client(self) -> Any:
        anthropic = _import_anthropic()
        return anthropic.AsyncAnthropic(
            api_key=self._api_key, base_url=self.base_url, timeout=self.timeout_s, max_retries=0
        )

    def _accepts_temperature(self, client: Any) -> bool:
        if self._sends_temperature is None:
            try:
                self._sends_temperature = (
                    "temperature" in inspect.signature(client.messages.create).parameters
                )
            except (TypeError, ValueError):
                self._sends_temperature = False
            if not self._sends_temperature:
                log.info(
                    "the installed anthropic SDK takes no temperature; sampling uses the model's default"
                )
        return self._sends_temperature

    def _classify(self, exc: BaseException) -> Failure | None:
        if isinstance(exc, StreamSilent):
            return Failure(f"{exc}: the reply stalled", timed_out=True)
        return classify_sdk_error(
            exc, _import_anthropic(), what=self.describe(), timeout_s=self.timeout_s, key_hint=self._key_hint
        )

    def _read(self, response: Any, msgs: list[dict[str, str]]) -> Completion:
        blocks = getattr(response, "content", None)
        if not isinstance(blocks, list):
            raise LLMBadResponse(
                f"{self.describe()}: the reply has no content blocks; is the base URL right?"
            )
        text = "".join(getattr(b, "text", "") for b in blocks if getattr(b, "type", None) == "text")
        stop = getattr(response, "stop_reason", None)
        finish = STOP_REASONS.get(str(stop), str(stop)) if stop else "unknown"
        usage = getattr(response, "usage", None)
        inp, out = getattr(usage, "input_tokens", None), getattr(usage, "output_tokens", None)
        return Completion(text=text, finish_reason=finish, usage=_usage(inp, out, msgs, text))


def _usage(inp: Any, out: Any, msgs: list[dict[str, str]], text: str) -> Usage:
    if isinstance(inp, int) and isinstance(out, int):
        return Usage(inp, out)
    return Usage(
        inp if isinstance(inp, int) else estimate_prompt_tokens(msgs),
        out if isinstance(out, int) else estimate_tokens(text),
        estimated=True,
    )


def _progress(event: Any) -> int:
    """1 for an event that carries generated text (or thinking): what resets the silence timer."""
    return 1 if getattr(event, "type", None) == "content_block_delta" else 0
