"""Any server that speaks OpenAI's chat-completions API: OpenAI, vLLM, SGLang, Ollama, llama.cpp, LM Studio.

Built on the official ``openai`` SDK (2.x or 3.x) with ``base_url``. The SDK's own retries are off: the
shared loop in :mod:`rewardlab.llm.retry` retries instead, so errors can say how many attempts were made.
Servers differ in what they accept, so this backend learns as it goes and remembers:

* ``n > 1`` rejected with a 400 that names ``n`` (llama.cpp, Anthropic's compatibility layer): fall back to
  ``n=1`` and mark the backend ``NSupport.NO``; the sampler then tops up with concurrent single calls;
* ``max_tokens`` rejected in favour of ``max_completion_tokens`` (OpenAI's reasoning models): switch;
* ``stream_options`` or ``stream`` rejected: stream without usage, or do not stream.

Replies are streamed by default, so ``timeout_s`` is a limit on silence (no token for that long), not on
the length of a reply: a slow local model that keeps producing tokens is never cut off. A self-hosted
server is asked once what it is (`rewardlab.llm.server`): llama.cpp and llama-cpp-python get as many
requests at once as they have slots (one for llama-cpp-python), and a request that timed out is sent
again only after the server has finished with the abandoned one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from rewardlab.llm.clients import LoopClients
from rewardlab.llm.errors import LLMBadResponse, LLMConfigError, LLMError, LLMRequestRejected
from rewardlab.llm.retry import Failure, RetryPolicy, call_with_retries
from rewardlab.llm.sdk_errors import classify_sdk_error, redact_url, rejects_param
from rewardlab.llm.server import ServerInfo, known_server, probe_server, remember_server, wait_until_idle
from rewardlab.llm.streaming import METER, StreamSilent, read_stream
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

log = logging.getLogger("rewardlab.llm")

NO_KEY_NEEDED = "sk-no-key-needed"
"""Sent to local servers, which ignore the key but the SDK insists on one."""

_N_REJECTED = r"(?<![\w-])['\"`]?n['\"`]?(?![\w-])|choice"
_MAX_TOKENS_REJECTED = r"max_completion_tokens"
_STREAM_OPTIONS_REJECTED = r"stream_options|include_usage"
_STREAM_REJECTED = r"(?<![\w-])stream(?![\w-])|streaming"
PROBE_TIMEOUT_S = 10.0
"""How long the once-per-server question `GET /v1/models` may take before the server counts as busy."""


def _import_openai() -> Any:
    try:
        import openai
    except ImportError as exc:
        raise LLMConfigError(
            "the OpenAI-compatible backend needs the openai package: pip install 'rewardlab[llm]'"
        ) from exc
    return openai


class OpenAIBackend:
    """Chat completions over the ``openai`` SDK, one client per event loop (clients are loop-bound)."""

    kind = "openai"

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        retry: RetryPolicy | None = None,
        n_support: NSupport | None = None,
        extra_body: Mapping[str, Any] | None = None,
        key_hint: str = "$OPENAI_API_KEY or $REWARDLAB_LLM_API_KEY",
        concurrency: int | None = None,
        stream: bool = True,
    ) -> None:
        if api_key is None and base_url is None:
            raise LLMConfigError(
                f"no API key for openai:{model}: set OPENAI_API_KEY (or REWARDLAB_LLM_API_KEY), or give "
                "a local server's URL, e.g. openai:MODEL@http://127.0.0.1:8000/v1"
            )
        self.model = model
        self.base_url = base_url
        self.timeout_s = float(timeout_s)
        self.retry = retry or RetryPolicy()
        self.n_support = n_support or (NSupport.YES if base_url is None else NSupport.UNKNOWN)
        self.extra_body = dict(extra_body) if extra_body else None
        self.max_tokens_param = "max_tokens"
        self.concurrency = concurrency
        """Requests in flight at once; None until told or learned from the server (`prepare`)."""
        self._told_concurrency = concurrency is not None
        self.stream = stream
        self._stream_usage = True
        self.server: ServerInfo | None = known_server(base_url) if base_url else None
        self._learn(self.server)
        self._api_key = api_key or NO_KEY_NEEDED
        self._key_hint = key_hint
        self._clients = LoopClients(self._new_client)

    def __repr__(self) -> str:
        return f"OpenAIBackend({self.describe()!r}, n_support={self.n_support.value})"

    def describe(self) -> str:
        where = f" at {redact_url(self.base_url)}" if self.base_url else ""
        return f"openai:{self.model}{where}"

    async def aclose(self) -> None:
        await self._clients.aclose()

    async def prepare(self) -> None:
        """Ask a self-hosted server once what it is (cached per URL for the process), so the sampler can
        send it no more requests at once than it works on. Failures are left for the request to report."""
        if self.base_url is None or self.server is not None:
            return
        try:
            await self.check(PROBE_TIMEOUT_S)
        except LLMError:
            self.server = ServerInfo(reachable=False)

    async def check(self, timeout_s: float = PROBE_TIMEOUT_S) -> ServerInfo:
        """Is the endpoint there? A GET of the model list (free, generates nothing). Raises LLMUnreachable
        when nothing answers and LLMRequestRejected for a refused key."""
        info = await probe_server(
            self._client(),
            _import_openai(),
            self.base_url or "https://api.openai.com/v1",
            timeout_s=timeout_s,
            what=self.describe(),
            key_hint=self._key_hint,
        )
        self.server = info
        if self.base_url:
            remember_server(self.base_url, info)
        self._learn(info)
        return info

    def _learn(self, info: ServerInfo | None) -> None:
        if info is None or info.concurrency is None or self._told_concurrency:
            return
        if self.concurrency != info.concurrency:
            log.info(
                "%s is %s: at most %d request(s) at once (--llm-concurrency overrides)",
                self.describe(),
                info.server,
                info.concurrency,
            )
        self.concurrency = info.concurrency

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
        ask = n if n > 1 and self.n_support is not NSupport.NO else 1
        for _ in range(5):
            params: dict[str, Any] = {
                "model": self.model,
                "messages": msgs,
                "temperature": temperature,
                self.max_tokens_param: max_tokens,
            }
            if ask > 1:
                params["n"] = ask
            if self.extra_body:
                params["extra_body"] = self.extra_body
            try:
                return await self._request(params, msgs)
            except LLMRequestRejected as exc:
                if ask > 1 and rejects_param(exc, _N_REJECTED):
                    log.warning(
                        "%s rejects n=%d (%s); using n=1 calls from now on", self.describe(), ask, exc.detail
                    )
                    self.n_support = NSupport.NO
                    ask = 1
                    continue
                if self.max_tokens_param == "max_tokens" and rejects_param(exc, _MAX_TOKENS_REJECTED):
                    log.info(
                        "%s wants max_completion_tokens instead of max_tokens; switching", self.describe()
                    )
                    self.max_tokens_param = "max_completion_tokens"
                    continue
                if self.stream and self._stream_usage and rejects_param(exc, _STREAM_OPTIONS_REJECTED):
                    log.info("%s rejects stream_options; streaming without usage", self.describe())
                    self._stream_usage = False
                    continue
                if self.stream and rejects_param(exc, _STREAM_REJECTED):
                    log.warning(
                        "%s rejects streaming; waiting for whole replies (the timeout then bounds a whole "
                        "reply)",
                        self.describe(),
                    )
                    self.stream = False
                    continue
                raise
        raise LLMBadResponse(f"{self.describe()}: the server kept rejecting the request's parameters")

    async def _request(self, params: dict[str, Any], msgs: list[dict[str, str]]) -> list[Completion]:
        """One request with retries. After a timed-out attempt the server may still be computing the
        abandoned reply: the next attempt waits for it first, instead of queueing behind it."""
        abandoned = False

        async def attempt() -> list[Completion]:
            nonlocal abandoned
            if abandoned:
                await self._wait_for_abandoned()
            try:
                if self.stream:
                    return await self._streamed(params, msgs)
                return self._read(await self._client().chat.completions.create(**params), msgs)
            except Exception as exc:
                abandoned = abandoned or isinstance(exc, StreamSilent) or _is_timeout(exc)
                raise

        return await call_with_retries(
            attempt, classify=self._classify, policy=self.retry, what=self.describe()
        )

    async def _wait_for_abandoned(self) -> None:
        if self.base_url is None:
            return  # OpenAI's own API: a closed connection ends the work, and capacity is not ours
        await self.prepare()
        if self.server is not None and self.server.reachable:
            limit = self.retry.max_total_wait_s  # the most the retry loop may spend waiting
            await wait_until_idle(self._client(), self.server, self.base_url, limit_s=limit)

    async def _streamed(self, params: dict[str, Any], msgs: list[dict[str, str]]) -> list[Completion]:
        extra: dict[str, Any] = {"stream": True}
        if self._stream_usage:
            extra["stream_options"] = {"include_usage": True}
        stream = await self._client().chat.completions.create(**params, **extra)
        try:
            content_type = str(stream.response.headers.get("content-type", ""))
            if "event-stream" not in content_type:  # a server that ignores `stream` sends one body
                raw = await stream.response.aread()
                return self._read(_decode_body(raw, content_type, self.describe()), msgs)
            with METER.reply() as add:
                chunks = await read_stream(
                    stream, silence_s=self.timeout_s, tokens_in=_progress, on_tokens=add
                )
        finally:
            await stream.close()
        return self._assemble(chunks, msgs)

    def _assemble(self, chunks: list[Any], msgs: list[dict[str, str]]) -> list[Completion]:
        """Completions from streamed chunks: each choice's text pieces joined, its finish reason, and the
        usage chunk when the server sends one (otherwise estimated)."""
        parts: dict[int, list[str]] = {}
        reasons: dict[int, str] = {}
        usage = None
        for chunk in chunks:
            usage = _field(chunk, "usage") or usage
            for choice in _field(chunk, "choices") or []:
                index = _field(choice, "index") or 0
                content = _field(_field(choice, "delta"), "content")
                parts.setdefault(index, [])
                if isinstance(content, str):
                    parts[index].append(content)
                reason = _field(choice, "finish_reason")
                if reason:
                    reasons[index] = str(reason)
        if not parts:
            raise LLMBadResponse(
                f"{self.describe()}: the reply has no choices; the server may be misconfigured"
            )
        texts = ["".join(parts[i]) for i in sorted(parts)]
        total = self._usage(usage, msgs, texts)
        shares = split_usage(total, texts)
        return [
            Completion(t, reasons.get(i, "unknown"), u)
            for i, t, u in zip(sorted(parts), texts, shares, strict=True)
        ]

    def _client(self) -> Any:
        return self._clients.get()

    def _new_client(self) -> Any:
        openai = _import_openai()
        return openai.AsyncOpenAI(
            api_key=self._api_key, base_url=self.base_url, timeout=self.timeout_s, max_retries=0
        )

    def _classify(self, exc: BaseException) -> Failure | None:
        if isinstance(exc, StreamSilent):
            return Failure(f"{exc}: the reply stalled", timed_out=True)
        return classify_sdk_error(
            exc, _import_openai(), what=self.describe(), timeout_s=self.timeout_s, key_hint=self._key_hint
        )

    def _read(self, response: Any, msgs: list[dict[str, str]]) -> list[Completion]:
        """Completions from a ``ChatCompletion``, defensively: servers omit fields the SDK types promise."""
        if isinstance(response, str):
            raise LLMBadResponse(
                f"{self.describe()}: the server answered with text, not a JSON chat completion "
                f"({response[:120]!r}). Hint: check the base URL; OpenAI-compatible servers usually serve "
                "under /v1."
            )
        choices = _field(response, "choices")
        if not isinstance(choices, list) or not choices:
            raise LLMBadResponse(
                f"{self.describe()}: the reply has no choices; the server may be misconfigured"
            )
        texts: list[str] = []
        reasons: list[str] = []
        for choice in choices:
            content = _field(_field(choice, "message"), "content")
            texts.append(content if isinstance(content, str) else "")
            reason = _field(choice, "finish_reason")
            reasons.append(str(reason) if reason else "unknown")
        total = self._usage(_field(response, "usage"), msgs, texts)
        shares = split_usage(total, texts)
        return [Completion(t, r, u) for t, r, u in zip(texts, reasons, shares, strict=True)]

    @staticmethod
    def _usage(usage: Any, msgs: list[dict[str, str]], texts: list[str]) -> Usage:
        prompt = _field(usage, "prompt_tokens")
        completion = _field(usage, "completion_tokens")
        estimated = not isinstance(prompt, int) or not isinstance(completion, int)
        if not isinstance(prompt, int):
            prompt = estimate_prompt_tokens(msgs)
        if not isinstance(completion, int):
            completion = sum(estimate_tokens(t) for t in texts)
        return Usage(prompt, completion, estimated)


def _field(obj: Any, name: str) -> Any:
    """`obj.name` for SDK objects, `obj[name]` for a decoded JSON body; None when absent."""
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _progress(chunk: Any) -> int:
    """Pieces of generated text in a chunk (answer or reasoning): what resets the silence timer."""
    count = 0
    for choice in _field(chunk, "choices") or []:
        delta = _field(choice, "delta")
        if any(_field(delta, k) for k in ("content", "reasoning_content", "reasoning", "tool_calls")):
            count += 1
    return count


def _decode_body(raw: bytes, content_type: str, what: str) -> Any:
    """The JSON body of a server that answered a streaming request in one piece."""
    text = raw.decode("utf-8", errors="replace")
    if "json" not in content_type and not text.lstrip().startswith(("{", "[")):
        return text  # `_read` explains a non-JSON answer
    try:
        return json.loads(text)
    except ValueError as exc:
        raise LLMBadResponse(
            f"{what}: the server's reply is not valid JSON or not a chat completion ({type(exc).__name__}: "
            f"{str(exc)[:200]}). Hint: check that the base URL points at the API (it usually ends in /v1) "
            "and that the server speaks this protocol."
        ) from None


def _is_timeout(exc: BaseException) -> bool:
    return type(exc).__name__ == "APITimeoutError"
