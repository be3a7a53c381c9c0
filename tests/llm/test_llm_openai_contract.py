"""Contract tests: the OpenAI-compatible backend against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import logging
import time

import pytest
from fake_openai import FakeLLMServer, Raw, Reply, Sleep, Status

from rewardlab.llm import (
    Ledger,
    LLMBadResponse,
    LLMRequestRejected,
    LLMRetryBudgetExhausted,
    LLMTimedOutAfterRetries,
    LLMTimeout,
    NSupport,
    ResponseCache,
    RetryPolicy,
    backend_from_spec,
    extract_code,
    sample,
)
from rewardlab.llm.openai_backend import OpenAIBackend

PROMPT = [
    {"role": "system", "content": "You write reward functions."},
    {"role": "user", "content": "Write compute_reward for CartPole."},
]


def make_backend(server: FakeLLMServer, retry: RetryPolicy, **kwargs) -> OpenAIBackend:
    kwargs.setdefault("timeout_s", 2.0)
    return OpenAIBackend("fake-model", base_url=server.openai_url, retry=retry, **kwargs)


# --- n: honoured, ignored, rejected ----------------------------------------------------------------------


def test_n_honoured_uses_one_request(fake_llm, fast_retry):
    backend = make_backend(fake_llm, fast_retry)
    assert backend.n_support is NSupport.UNKNOWN
    replies = sample(backend, PROMPT, 3, temperature=0.7, max_tokens=256)

    assert [r.text for r in replies] == ["reply 1.0", "reply 1.1", "reply 1.2"]
    assert fake_llm.request_count == 1
    body = fake_llm.bodies()[0]
    assert body["n"] == 3
    assert body["temperature"] == 0.7
    assert body["max_tokens"] == 256
    assert body["model"] == "fake-model"
    assert body["messages"] == PROMPT
    assert backend.n_support is NSupport.YES
    # The server billed 11 prompt tokens for the call: the shares add up to exactly that.
    assert sum(r.usage.prompt_tokens for r in replies) == 11
    assert not any(r.usage.estimated for r in replies)


def test_n_ignored_is_counted_and_topped_up(fake_llm, fast_retry):
    fake_llm.default = Reply(n_mode="ignore")  # llama-cpp-python: asked 3, returns 1, no error
    backend = make_backend(fake_llm, fast_retry)
    ledger = Ledger()
    replies = sample(backend, PROMPT, 3, ledger=ledger)

    assert len(replies) == 3
    assert len({r.text for r in replies}) == 3, "top-up samples must be distinct calls"
    assert [b.get("n") for b in fake_llm.bodies()] == [3, None, None]
    assert backend.n_support is NSupport.NO
    assert [(e.n_requested, e.n_returned) for e in ledger.entries] == [(3, 1), (1, 1), (1, 1)]

    # Now known: the next sample goes straight to n=1 calls.
    sample(backend, PROMPT, 2, first_index=10)
    assert [b.get("n") for b in fake_llm.bodies()[3:]] == [None, None]


def test_n_rejected_falls_back_and_remembers(fake_llm, fast_retry, caplog):
    fake_llm.default = Reply(n_mode="reject")  # llama.cpp server: 400 "Only one completion choice is allowed"
    backend = make_backend(fake_llm, fast_retry)
    with caplog.at_level(logging.WARNING, logger="rewardlab.llm"):
        replies = sample(backend, PROMPT, 3)

    assert len(replies) == 3 and len({r.text for r in replies}) == 3
    assert backend.n_support is NSupport.NO
    assert "rejects n=3" in caplog.text
    assert [b.get("n") for b in fake_llm.bodies()] == [3, None, None, None]

    sample(backend, PROMPT, 2, first_index=5)
    assert fake_llm.request_count == 6, "no second probe with n>1 once rejection is known"


def test_concurrency_is_bounded_by_the_semaphore(fake_llm, fast_retry):
    fake_llm.default = Sleep(0.15, then=Reply())
    backend = make_backend(fake_llm, fast_retry, n_support=NSupport.NO)
    replies = sample(backend, PROMPT, 6, concurrency=2)

    assert len(replies) == 6
    assert fake_llm.request_count == 6
    assert fake_llm.max_in_flight == 2


# --- retries, budget, timeouts ---------------------------------------------------------------------------


def test_429_then_success_honours_retry_after(fake_llm):
    fake_llm.push(Status(429, "slow down", retry_after=0.3), Reply(texts="ok"))
    backend = make_backend(fake_llm, RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=1.0))
    started = time.monotonic()
    [reply] = sample(backend, PROMPT, 1)

    assert reply.text == "ok"
    assert fake_llm.request_count == 2
    # The policy's own backoff is 10 ms; only the header explains waiting 0.3 s.
    assert time.monotonic() - started >= 0.28


def test_retry_after_is_capped(fake_llm):
    fake_llm.push(Status(429, retry_after=3600), Reply(texts="ok"))
    policy = RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.05)
    started = time.monotonic()
    [reply] = sample(make_backend(fake_llm, policy), PROMPT, 1)
    assert reply.text == "ok"
    assert time.monotonic() - started < 5


def test_persistent_5xx_ends_with_a_clear_error(fake_llm, fast_retry):
    fake_llm.default = Status(503, "model is loading")
    backend = make_backend(fake_llm, fast_retry)
    with pytest.raises(LLMRetryBudgetExhausted) as info:
        sample(backend, PROMPT, 1)

    err = info.value
    assert not isinstance(err, LLMTimeout)
    assert err.attempts == 3 and err.last_status == 503
    message = str(err)
    assert "gave up after 3 attempts" in message
    assert "HTTP 503: model is loading" in message
    assert fake_llm.request_count == 3


def test_slow_replies_hit_the_timeout(fake_llm):
    fake_llm.default = Sleep(3.0)
    policy = RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.05)
    backend = make_backend(fake_llm, policy, timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(LLMTimedOutAfterRetries) as info:
        sample(backend, PROMPT, 1)

    assert isinstance(info.value, LLMTimeout) and isinstance(info.value, LLMRetryBudgetExhausted)
    assert info.value.attempts == 2 and info.value.last_status is None
    assert "no reply within the 0.3 s timeout" in str(info.value)
    assert fake_llm.request_count == 2
    assert time.monotonic() - started < 2.5, "must not wait for the slow server's reply"


def test_one_slow_reply_then_success(fake_llm, fast_retry):
    fake_llm.push(Sleep(3.0), Reply(texts="second try"))
    [reply] = sample(make_backend(fake_llm, fast_retry, timeout_s=0.3), PROMPT, 1)
    assert reply.text == "second try"
    assert fake_llm.request_count == 2


def test_client_errors_are_not_retried(fake_llm, fast_retry):
    fake_llm.default = Status(401, "Invalid API key")
    with pytest.raises(LLMRequestRejected) as info:
        sample(make_backend(fake_llm, fast_retry), PROMPT, 1)
    assert info.value.status == 401
    assert "Invalid API key" in str(info.value) and "OPENAI_API_KEY" in str(info.value)
    assert fake_llm.request_count == 1


def test_connection_refused_is_retried_then_explained(fast_retry):
    with FakeLLMServer() as server:
        url = server.openai_url
    backend = OpenAIBackend("m", base_url=url, retry=fast_retry, timeout_s=1.0)
    with pytest.raises(LLMRetryBudgetExhausted) as info:
        sample(backend, PROMPT, 1)
    assert info.value.attempts == 3
    assert "connection failed" in str(info.value)


def test_max_completion_tokens_switch(fake_llm, fast_retry):
    fake_llm.push(
        Status(
            400,
            "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
        ),
        Reply(texts="ok"),
    )
    backend = make_backend(fake_llm, fast_retry)
    [reply] = sample(backend, PROMPT, 1, max_tokens=99)
    assert reply.text == "ok"
    first, second = fake_llm.bodies()
    assert first["max_tokens"] == 99 and "max_completion_tokens" not in first
    assert second["max_completion_tokens"] == 99 and "max_tokens" not in second


# --- odd replies -----------------------------------------------------------------------------------------


def test_malformed_json_is_a_bad_response(fake_llm, fast_retry):
    fake_llm.default = Raw('{"id": "x", "choices": [')
    with pytest.raises(LLMBadResponse, match="not valid JSON"):
        sample(make_backend(fake_llm, fast_retry), PROMPT, 1)
    assert fake_llm.request_count == 1


def test_html_page_points_at_the_base_url(fake_llm, fast_retry):
    fake_llm.default = Raw("<html><body>Welcome to nginx</body></html>", content_type="text/html")
    with pytest.raises(LLMBadResponse, match="base URL"):
        sample(make_backend(fake_llm, fast_retry), PROMPT, 1)


def test_no_choices_is_a_bad_response(fake_llm, fast_retry):
    fake_llm.default = Raw(
        '{"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": []}'
    )
    with pytest.raises(LLMBadResponse, match="no choices"):
        sample(make_backend(fake_llm, fast_retry), PROMPT, 1)


@pytest.mark.parametrize("content", ["", None])
def test_empty_content(fake_llm, fast_retry, content):
    fake_llm.default = Reply(texts=[content])
    [reply] = sample(make_backend(fake_llm, fast_retry), PROMPT, 1)
    assert reply.text == ""
    assert reply.finish_reason == "stop"
    result = extract_code(reply.text)
    assert result.code is None and result.reason == "the reply is empty"


def test_finish_reason_length_marks_truncation(fake_llm, fast_retry):
    fake_llm.default = Reply(texts="```python\ndef compute_reward(s):\n    return", finish_reason="length")
    [reply] = sample(make_backend(fake_llm, fast_retry), PROMPT, 1)
    assert reply.finish_reason == "length" and reply.truncated
    assert "truncated" in extract_code(reply.text).how


def test_missing_usage_is_estimated(fake_llm, fast_retry):
    fake_llm.default = Reply(texts="x" * 40, usage=False)
    [reply] = sample(make_backend(fake_llm, fast_retry), PROMPT, 1)
    prompt_chars = sum(len(m["content"]) for m in PROMPT)
    assert reply.usage.estimated
    assert reply.usage.completion_tokens == 10
    assert reply.usage.prompt_tokens == sum(-(-len(m["content"]) // 4) for m in PROMPT)
    assert abs(reply.usage.prompt_tokens - prompt_chars / 4) <= len(PROMPT)


# --- cache and secrets -----------------------------------------------------------------------------------


def test_cached_replay_makes_no_http_call(fake_llm, fast_retry, tmp_path):
    cache = ResponseCache(tmp_path / "cache")
    ledger = Ledger(tmp_path / "ledger.jsonl")
    first = sample(make_backend(fake_llm, fast_retry), PROMPT, 3, cache=cache, ledger=ledger)
    calls_after_first = fake_llm.request_count
    assert calls_after_first == 1 and len(cache) == 3

    replay_backend = make_backend(fake_llm, fast_retry)  # a fresh process would build a fresh backend
    again = sample(replay_backend, PROMPT, 3, cache=cache, ledger=ledger)
    assert fake_llm.request_count == calls_after_first
    assert again == first

    # Asking for more samples of the same prompt fetches only the new ones.
    more = sample(replay_backend, PROMPT, 5, cache=cache, ledger=ledger)
    assert more[:3] == first
    assert fake_llm.bodies()[-1]["n"] == 2
    summary = ledger.summary()
    assert summary.cached_calls == 3 + 3
    assert summary.calls == 1 + 3 + 3 + 1


def test_changed_parameters_miss_the_cache(fake_llm, fast_retry, tmp_path):
    cache = ResponseCache(tmp_path)
    backend = make_backend(fake_llm, fast_retry)
    sample(backend, PROMPT, 1, cache=cache, temperature=1.0)
    sample(backend, PROMPT, 1, cache=cache, temperature=0.5)
    sample(backend, PROMPT, 1, cache=cache, max_tokens=7)
    sample(backend, [*PROMPT, {"role": "assistant", "content": "?"}], 1, cache=cache)
    assert fake_llm.request_count == 4


def test_api_key_reaches_the_server_but_no_file_or_log(fake_llm, fast_retry, tmp_path, monkeypatch, caplog):
    secret = "sk-test-DO-NOT-PERSIST-5f1c2a"
    monkeypatch.setenv("REWARDLAB_LLM_API_KEY", secret)
    backend = backend_from_spec(f"openai:fake-model@{fake_llm.openai_url}", retry=fast_retry)
    fake_llm.push(Status(500, "boom"))  # one retry, so the retry log lines are produced too
    cache = ResponseCache(tmp_path / "cache")
    ledger = Ledger(tmp_path / "ledger.jsonl", prices={"fake-model": (1.0, 2.0)})
    with caplog.at_level(logging.DEBUG):
        sample(backend, PROMPT, 2, cache=cache, ledger=ledger)

    assert fake_llm.requests[-1].headers["authorization"] == f"Bearer {secret}"
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) == 3  # two cache entries and the ledger
    for path in written:
        assert secret not in path.read_text(encoding="utf-8"), path
    assert secret not in caplog.text
    assert secret not in repr(backend) and secret not in backend.describe()
    assert ledger.summary().cost_usd > 0
