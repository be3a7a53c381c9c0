"""One real completion against an endpoint named in the environment; skipped unless asked for.

    REWARDLAB_LIVE_LLM_SPEC=openai:local@http://127.0.0.1:8000/v1 pytest -m live tests/llm

Optional: REWARDLAB_LIVE_LLM_TIMEOUT (seconds per attempt, default 600: a CPU-only model is slow).
Keys come from the usual variables (REWARDLAB_LLM_API_KEY, OPENAI_API_KEY, ANTHROPIC_API_KEY).
"""

from __future__ import annotations

import os

import pytest

from rewardlab.llm import Ledger, RetryPolicy, backend_from_spec, extract_code, sample

PROMPT = [
    {"role": "system", "content": "You are a careful Python programmer. Answer with one code block only."},
    {
        "role": "user",
        "content": "Write a Python function `compute_reward(x: float) -> float` that returns -abs(x). "
        "Reply with only a ```python code block.",
    },
]


@pytest.mark.live
def test_one_real_completion():
    spec = os.environ.get("REWARDLAB_LIVE_LLM_SPEC")
    if not spec:
        pytest.skip("set REWARDLAB_LIVE_LLM_SPEC, e.g. openai:local@http://127.0.0.1:8000/v1 (docs/llm.md)")
    timeout = float(os.environ.get("REWARDLAB_LIVE_LLM_TIMEOUT", "600"))
    backend = backend_from_spec(spec, timeout_s=timeout, retry=RetryPolicy(max_attempts=2, base_delay_s=2.0))
    ledger = Ledger()

    [reply] = sample(backend, PROMPT, 1, temperature=0.0, max_tokens=256, ledger=ledger)

    print(f"\n{backend.describe()}: {ledger.summary().describe()}\n{reply.text}")
    assert reply.text.strip(), "the endpoint answered with empty content"
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    # A format check, not a quality check: the plumbing must find a function in a real model's reply.
    result = extract_code(reply.text)
    assert result.code is not None, f"{result.reason}; reply was: {reply.text!r}"
