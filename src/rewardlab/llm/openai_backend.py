"""Any server that speaks OpenAI's chat-completions API: OpenAI, vLLM, SGLang, Ollama, llama.cpp, LM Studio.

Built on the official ``openai`` SDK (2.x or 3.x) with ``base_url``. The SDK's own retries are off: the
shared loop in :mod:`rewardlab.llm.retry` retries instead, so errors can say how many attempts were made.
Servers differ in what they accept, so this backend learns as it goes and remembers:

* ``n > 1`` rejected with a 400 that names ``n`` (llama.cpp, Anthropic's compatibility layer): fall back to
  ``n=1`` and mark the backend ``NSupport.NO``; the sampler then tops up with concurrent single calls;
* ``max_tokens`` rejected in favour of ``max_completion_tokens`` (OpenAI's reasoning models): switch.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from rewardlab.llm.clients import LoopClients
from rewardlab.llm.errors import LLMBadResponse, LLMConfigError, LLMRequestRejected
from rewardlab.llm.retry import Failure, RetryPolicy, call_with_retries
from rewardlab.llm.sdk_errors import classify_sdk_error, redact_url, rejects_param
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
        for _ in range(3):
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
                response = await call_with_retries(
                    lambda params=params: self._client().chat.completions.create(**params),
                    classify=self._classify,
                    policy=self.retry,
                    what=self.describe(),
                )
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
                raise
            return self._read(response, msgs)
        raise LLMBadResponse(f"{self.describe()}: the server kept rejecting the request's parameters")

    def _client(self) -> Any:
        return self._clients.get()

    def _new_client(self) -> Any:
        openai = _import_openai()
        return openai.AsyncOpenAI(
            api_key=self._api_key, base_url=self.base_url, timeout=self.timeout_s, max_retries=0
        )

    def _classify(self, exc: BaseException) -> Failure | None:
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
        choices = getattr(response, "choices", None)
        if not isinstance(choices, list) or not choices:
            raise LLMBadResponse(
                f"{self.describe()}: the reply has no choices; the server may be misconfigured"
            )
        texts: list[str] = []
        reasons: list[str] = []
        for choice in choices:
            message = getattr(choice, "message", None)
            content = getattr(message, "content", None)
            texts.append(content if isinstance(content, str) else "")
            reason = getattr(choice, "finish_reason", None)
            reasons.append(str(reason) if reason else "unknown")
        total = self._usage(getattr(response, "usage", None), msgs, texts)
        shares = split_usage(total, texts)
        return [Completion(t, r, u) for t, r, u in zip(texts, reasons, shares, strict=True)]

    @staticmethod
    def _usage(usage: Any, msgs: list[dict[str, str]], texts: list[str]) -> Usage:
        prompt = getattr(usage, "prompt_tokens", None)
        completion = getattr(usage, "completion_tokens", None)
        estimated = not isinstance(prompt, int) or not isinstance(completion, int)
        if not isinstance(prompt, int):
            prompt = estimate_prompt_tokens(msgs)
        if not isinstance(completion, int):
            completion = sum(estimate_tokens(t) for t in texts)
        return Usage(prompt, completion, estimated)
