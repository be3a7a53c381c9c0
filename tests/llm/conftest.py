"""Fixtures for the LLM layer's tests: a fake server on 127.0.0.1 and fast retry settings."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_openai import FakeLLMServer

from rewardlab.llm.retry import RetryPolicy

FAST_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05, max_total_wait_s=2.0)
"""Retries in milliseconds so that failure-path tests stay fast."""


@pytest.fixture
def fake_llm() -> Iterator[FakeLLMServer]:
    """A fresh fake OpenAI/Anthropic server per test; script it with ``push`` or ``default``."""
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def fast_retry() -> RetryPolicy:
    return FAST_RETRY


@pytest.fixture(autouse=True)
def _no_real_keys(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests must never pick up a developer's real keys or endpoints; only ``live`` tests may."""
    if request.node.get_closest_marker("live") is not None:
        return
    for name in (
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "REWARDLAB_LLM_API_KEY",
        "OPENAI_BASE_URL",
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_AUTH_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
