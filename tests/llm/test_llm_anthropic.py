"""The native Anthropic backend against the fake server's /v1/messages endpoint."""

from __future__ import annotations

import inspect

import pytest
from fake_openai import Reply, Status

from rewardlab.llm import (
    LLMConfigError,
    LLMRequestRejected,
    LLMRetryBudgetExhausted,
    NSupport,
    backend_from_spec,
    sample,
)
from rewardlab.llm.anthropic_backend import AnthropicBackend

pytest.importorskip("anthropic")

PROMPT = [
    {"role": "system", "content": "You write reward functions."},
    {"role": "system", "content": "Use jax.numpy."},
    {"role": "user", "content": "Write compute_reward."},
]


def sent_key(headers: dict[str, str]) -> str | None:
    """The key as sent: ``x-api-key`` in older SDKs, ``Authorization: Bearer`` in anthropic 2.x."""
    if "x-api-key" in headers:
        return headers["x-api-key"]
    auth = headers.get("authorization", "")
    return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None


def make_backend(server, retry, **kwargs) -> AnthropicBackend:
    return AnthropicBackend(
        "claude-test", api_key="sk-ant-test", base_url=server.root_url, retry=retry, timeout_s=2.0, **kwargs
    )


def test_messages_api_shape_and_usage(fake_llm, fast_retry):
    fake_llm.default = Reply(texts="```python\ndef compute_reward(s):\n    return 1.0\n```")
    [reply] = sample(make_backend(fake_llm, fast_retry), PROMPT, 1, max_tokens=300)

    assert reply.text.startswith("```python")
    assert reply.finish_reason == "stop"  # end_turn
    assert not reply.usage.estimated
    assert reply.usage.prompt_tokens == 13  # input_tokens from the server
    request = fake_llm.requests[0]
    assert request.path == "/v1/messages"
    assert sent_key(request.headers) == "sk-ant-test"
    body = request.body
    assert body["system"] == "You write reward functions.\n\nUse jax.numpy."
    assert body["messages"] == [{"role": "user", "content": "Write compute_reward."}]
    assert body["max_tokens"] == 300 and body["model"] == "claude-test"
    assert "n" not in body
    # anthropic 2.x dropped sampling parameters; older SDKs take temperature (capped at 1).
    sdk = pytest.importorskip("anthropic")
    create = sdk.AsyncAnthropic(api_key="unused").messages.create
    assert ("temperature" in body) == ("temperature" in inspect.signature(create).parameters)


def test_k_samples_are_concurrent_single_calls(fake_llm, fast_retry):
    backend = make_backend(fake_llm, fast_retry)
    assert backend.n_support is NSupport.NO
    replies = sample(backend, PROMPT, 4)
    assert len({r.text for r in replies}) == 4
    assert fake_llm.request_count == 4


def test_max_tokens_maps_to_length(fake_llm, fast_retry):
    fake_llm.default = Reply(texts="def compute_reward(", finish_reason="length")
    [reply] = sample(make_backend(fake_llm, fast_retry), PROMPT, 1)
    assert reply.finish_reason == "length" and reply.truncated


def test_missing_usage_is_estimated(fake_llm, fast_retry):
    fake_llm.default = Reply(texts="abcdefgh", usage=False)
    [reply] = sample(make_backend(fake_llm, fast_retry), PROMPT, 1)
    assert reply.usage.estimated and reply.usage.completion_tokens == 2


def test_overloaded_is_retried_then_reported(fake_llm, fast_retry):
    fake_llm.default = Status(529, "Overloaded")
    with pytest.raises(LLMRetryBudgetExhausted) as info:
        sample(make_backend(fake_llm, fast_retry), PROMPT, 1)
    assert info.value.attempts == 3 and info.value.last_status == 529
    assert "HTTP 529: Overloaded" in str(info.value)


def test_rate_limit_then_success(fake_llm, fast_retry):
    fake_llm.push(Status(429, "rate limited", retry_after=0.01), Reply(texts="fine"))
    [reply] = sample(make_backend(fake_llm, fast_retry), PROMPT, 1)
    assert reply.text == "fine" and fake_llm.request_count == 2


def test_bad_request_is_not_retried(fake_llm, fast_retry):
    fake_llm.default = Status(400, "messages: roles must alternate")
    with pytest.raises(LLMRequestRejected, match="roles must alternate"):
        sample(make_backend(fake_llm, fast_retry), PROMPT, 1)
    assert fake_llm.request_count == 1


def test_spec_reads_the_key_from_the_environment(fake_llm, fast_retry, monkeypatch):
    with pytest.raises(LLMConfigError, match="ANTHROPIC_API_KEY"):
        backend_from_spec("anthropic:claude-test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-env")
    backend = backend_from_spec(f"anthropic:claude-test@{fake_llm.root_url}", retry=fast_retry)
    sample(backend, PROMPT, 1)
    assert sent_key(fake_llm.requests[0].headers) == "sk-ant-from-env"
    assert "sk-ant-from-env" not in repr(backend)
