"""Slow servers: streamed replies time out on silence, not on length; a server's concurrency is learned;
a timed-out request is sent again only once the server is done with it. All against the fake server, with
time constants of a fraction of a second."""

from __future__ import annotations

import pytest
from fake_openai import FakeLLMServer, Reply, Sleep

from rewardlab.llm import (
    LLMRequestRejected,
    LLMTimedOutAfterRetries,
    LLMUnreachable,
    RetryPolicy,
    backend_from_spec,
    check_backend,
    sample,
    watch_streams,
)
from rewardlab.llm.anthropic_backend import AnthropicBackend
from rewardlab.llm.openai_backend import OpenAIBackend

PROMPT = [{"role": "user", "content": "Write compute_reward for CartPole."}]
WORDS = 40
TOKEN_DELAY_S = 0.05
SILENCE_S = 1.0
"""A reply of WORDS tokens, one every TOKEN_DELAY_S, takes 2 s: twice the timeout, yet every gap between
tokens is a twentieth of it."""
TEXT = " ".join(f"w{i}" for i in range(WORDS))


def backend(server: FakeLLMServer, retry: RetryPolicy, **kwargs) -> OpenAIBackend:
    kwargs.setdefault("timeout_s", SILENCE_S)
    return OpenAIBackend("fake-model", base_url=server.openai_url, retry=retry, **kwargs)


def test_a_slow_reply_that_keeps_streaming_is_not_cut_off(fake_llm, fast_retry):
    fake_llm.default = Reply(texts=TEXT, token_delay_s=TOKEN_DELAY_S)
    seen: list[tuple[int, int]] = []
    with watch_streams(lambda status: seen.append((status.in_flight, status.tokens)), every_s=0.0):
        [reply] = sample(backend(fake_llm, fast_retry), PROMPT, 1)
    assert reply.text == TEXT and reply.finish_reason == "stop"
    assert fake_llm.request_count == 1 and fake_llm.bodies()[0]["stream"] is True
    # the meter saw the tokens arrive while the reply was in flight, then the reply end
    assert max(tokens for in_flight, tokens in seen if in_flight) == WORDS
    assert len({tokens for in_flight, tokens in seen if in_flight}) > WORDS // 2
    assert seen[-1][0] == 0


def test_the_same_slow_reply_unstreamed_hits_the_old_whole_reply_timeout(fake_llm):
    fake_llm.default = Reply(texts=TEXT, token_delay_s=TOKEN_DELAY_S)
    once = RetryPolicy(max_attempts=1)
    with pytest.raises(LLMTimedOutAfterRetries, match="no reply within"):
        sample(backend(fake_llm, once, stream=False), PROMPT, 1)


def test_anthropic_streams_too(fake_llm, fast_retry):
    fake_llm.default = Reply(texts=TEXT, token_delay_s=TOKEN_DELAY_S)
    anthropic = AnthropicBackend(
        "claude-test", api_key="sk-ant", base_url=fake_llm.root_url, retry=fast_retry, timeout_s=SILENCE_S
    )
    [reply] = sample(anthropic, PROMPT, 1)
    assert reply.text == TEXT and reply.usage.prompt_tokens == 13 and not reply.usage.estimated
    assert fake_llm.bodies()[0]["stream"] is True


def test_a_stalled_reply_times_out_on_silence_and_is_retried(fake_llm, fast_retry):
    # three tokens, then keep-alive comments only: comments are not tokens
    fake_llm.push(Reply(texts=TEXT, stall_after=3), Reply(texts="second try"))
    [reply] = sample(backend(fake_llm, fast_retry, timeout_s=0.5), PROMPT, 1)
    assert reply.text == "second try" and fake_llm.request_count == 2

    fake_llm.default = Reply(texts=TEXT, stall_after=3)
    with pytest.raises(LLMTimedOutAfterRetries, match=r"no token for 0.5 s \(after 3 token"):
        sample(backend(fake_llm, RetryPolicy(max_attempts=2, base_delay_s=0.01), timeout_s=0.5), PROMPT, 1)


@pytest.mark.parametrize(("owned_by", "learned"), [("me", 1), ("vllm", None)])
def test_concurrency_is_learned_from_the_server(owned_by, learned, fast_retry):
    with FakeLLMServer(Reply(n_mode="ignore", token_delay_s=0.02), owned_by=owned_by) as server:
        llm = backend(server, fast_retry)
        replies = sample(llm, PROMPT, 3)
        assert len(replies) == 3 and llm.concurrency == learned
        if learned == 1:
            assert server.max_in_flight == 1  # llama-cpp-python would interrupt a stream for a second one
        told = backend(server, fast_retry, concurrency=2)
        sample(told, PROMPT, 1)
        assert told.concurrency == 2  # --llm-concurrency wins over what the server says


def test_a_timed_out_request_is_resent_only_after_the_server_finished_it(fast_retry):
    """llama-cpp-python computes a request whose client left; a retry must not queue behind it."""
    with FakeLLMServer(owned_by="me", one_at_a_time=True) as server:
        server.push(Sleep(1.5, then=Reply(texts="too late")), Reply(texts="second try"))
        [reply] = sample(backend(server, fast_retry, timeout_s=0.5), PROMPT, 1)
        assert reply.text == "second try"
        (first, first_done), (second, second_arrived) = server.finished[0], server.arrived[1]
        assert first == 1 and second == 2
        assert second_arrived >= first_done  # sent after the abandoned request had ended
        assert server.max_in_flight == 1


def test_endpoint_check_before_a_run(fake_llm):
    with FakeLLMServer() as gone:
        url = gone.openai_url
    with pytest.raises(LLMUnreachable, match="nothing answers at"):
        check_backend(backend_from_spec(f"openai:m@{url}"), timeout_s=2.0)
    fake_llm.owned_by = "llamacpp"
    info = check_backend(backend_from_spec(f"openai:m@{fake_llm.openai_url}"), timeout_s=2.0)
    assert info is not None and info.reachable and info.server == "llama.cpp" and info.concurrency == 1
    assert fake_llm.request_count == 0  # no completion: nothing was generated or paid for
    fake_llm.models_status = 401
    with pytest.raises(LLMRequestRejected, match="refused the key"):
        check_backend(backend_from_spec(f"openai:m@{fake_llm.openai_url}"), timeout_s=2.0)
