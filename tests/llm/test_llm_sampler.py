"""The shared sampler (top-up, cache, ledger, partial failure) and the scripted backend, without HTTP."""

from __future__ import annotations

import asyncio

import pytest

from rewardlab.llm import (
    Backend,
    Completion,
    Ledger,
    LLMError,
    NSupport,
    ResponseCache,
    ScriptedBackend,
    Usage,
    asample,
    sample,
)
from rewardlab.llm.types import normalize_messages, split_usage

PROMPT = [{"role": "user", "content": "write a reward"}]


def test_every_backend_satisfies_the_protocol(tmp_path):
    from rewardlab.llm.anthropic_backend import AnthropicBackend
    from rewardlab.llm.manual import ManualBackend
    from rewardlab.llm.openai_backend import OpenAIBackend

    backends = [
        ScriptedBackend([]),
        ManualBackend(tmp_path),
        OpenAIBackend("m", base_url="http://127.0.0.1:9/v1"),
        AnthropicBackend("c", api_key="k"),
    ]
    for backend in backends:
        assert isinstance(backend, Backend), type(backend).__name__
        assert backend.kind in backend.describe()


def test_scripted_list_in_order_and_exhaustion():
    backend = ScriptedBackend(["a", "b", "c"])
    assert [c.text for c in sample(backend, PROMPT, 2)] == ["a", "b"]
    assert [c.text for c in sample(backend, PROMPT, 1, first_index=2)] == ["c"]
    with pytest.raises(LLMError, match="ran out of replies after handing out 3"):
        sample(backend, PROMPT, 1, first_index=3)
    assert [call.indices for call in backend.calls] == [(0, 1), (2,), (3,)]


def test_scripted_callable_sees_the_messages():
    backend = ScriptedBackend(lambda msgs: f"echo {msgs[-1]['content']}")
    [reply] = sample(backend, [{"role": "user", "content": "hi"}], 1)
    assert reply.text == "echo hi"
    assert reply.usage.estimated


def test_top_up_when_backend_returns_fewer_than_asked():
    backend = ScriptedBackend([], n_support=NSupport.UNKNOWN)
    calls: list[int] = []

    async def one_choice(messages, *, n=1, temperature=1.0, max_tokens=1024, indices=None):
        calls.append(n)  # like a server that ignores n: always one choice
        return [Completion(f"r{len(calls)}", "stop", Usage(1, 1))]

    backend.complete = one_choice  # type: ignore[method-assign]
    replies = sample(backend, PROMPT, 4)
    assert [r.text for r in replies] == ["r1", "r2", "r3", "r4"]
    assert calls == [4, 1, 1, 1]
    assert backend.n_support is NSupport.NO


def test_large_k_is_split_into_batches():
    backend = ScriptedBackend([f"r{i}" for i in range(10)])
    replies = sample(backend, PROMPT, 10, max_n_per_request=4)
    assert len(replies) == 10
    assert sorted(len(call.indices) for call in backend.calls) == [2, 4, 4]


def test_partial_failure_keeps_what_arrived(tmp_path):
    cache = ResponseCache(tmp_path)
    outcomes = iter(["good-0", None, "good-2"])

    def flaky(msgs):
        item = next(outcomes)
        if item is None:
            raise LLMError("server fell over")
        return item

    backend = ScriptedBackend(flaky, n_support=NSupport.NO)
    with pytest.raises(LLMError, match="server fell over") as info:
        sample(backend, PROMPT, 3, cache=cache, concurrency=1)
    assert "2 of 3 samples arrived and were cached" in "\n".join(info.value.__notes__)

    # The re-run asks only for the one sample that failed.
    retry_backend = ScriptedBackend(["fixed"], n_support=NSupport.NO)
    replies = sample(retry_backend, PROMPT, 3, cache=cache)
    assert [r.text for r in replies] == ["good-0", "fixed", "good-2"]
    assert [c.indices for c in retry_backend.calls] == [(1,)]


def test_ledger_records_calls_and_cache_hits(tmp_path):
    ledger = Ledger(tmp_path / "calls.jsonl", prices={"scripted": {"input": 1.0, "output": 2.0}})
    cache = ResponseCache(tmp_path / "cache")
    backend = ScriptedBackend([Completion("x", "stop", Usage(1000, 500))] * 2)
    sample(backend, PROMPT, 2, cache=cache, ledger=ledger)
    sample(backend, PROMPT, 2, cache=cache, ledger=ledger)

    summary = ledger.summary()
    assert summary.calls == 3 and summary.cached_calls == 2
    assert summary.prompt_tokens == 2000 and summary.completion_tokens == 1000
    assert summary.cost_usd == pytest.approx((2000 * 1.0 + 1000 * 2.0) / 1e6)
    # Reloading the file (a resumed run) gives the same totals.
    assert Ledger(tmp_path / "calls.jsonl").summary().calls == 3


def test_sample_validates_input():
    backend = ScriptedBackend(["a"])
    with pytest.raises(ValueError, match="n must be"):
        sample(backend, PROMPT, 0)
    with pytest.raises(ValueError, match="role"):
        sample(backend, [{"role": "robot", "content": "x"}], 1)
    with pytest.raises(ValueError, match="empty"):
        normalize_messages([])


def test_sync_wrapper_works_inside_a_running_loop():
    backend = ScriptedBackend(["from a thread"])

    async def notebook_cell():
        return sample(backend, PROMPT, 1)  # sync call while this thread's loop is running

    [reply] = asyncio.run(notebook_cell())
    assert reply.text == "from a thread"


def test_async_api():
    backend = ScriptedBackend(["a", "b"])
    replies = asyncio.run(asample(backend, PROMPT, 2))
    assert [r.text for r in replies] == ["a", "b"]


@pytest.mark.parametrize(
    ("total", "texts", "expected"),
    [
        (Usage(10, 9), ["aaa", "a", ""], [(4, 7), (3, 2), (3, 0)]),
        (Usage(7, 0), ["", ""], [(4, 0), (3, 0)]),
        (Usage(5, 5, True), ["x"], [(5, 5)]),
    ],
)
def test_split_usage_adds_up(total, texts, expected):
    shares = split_usage(total, texts)
    assert [(u.prompt_tokens, u.completion_tokens) for u in shares] == expected
    assert sum(u.prompt_tokens for u in shares) == total.prompt_tokens
    assert sum(u.completion_tokens for u in shares) == total.completion_tokens
    assert all(u.estimated == total.estimated for u in shares)
