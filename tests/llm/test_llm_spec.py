"""Spec strings and API-key resolution."""

from __future__ import annotations

import json

import pytest

from rewardlab.llm import (
    BackendSpec,
    LLMConfigError,
    NSupport,
    ScriptedBackend,
    backend_from_spec,
    parse_spec,
)
from rewardlab.llm.manual import ManualBackend
from rewardlab.llm.openai_backend import NO_KEY_NEEDED, OpenAIBackend
from rewardlab.llm.spec import resolve_api_key


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("openai:gpt-4o", BackendSpec("openai", "gpt-4o")),
        (
            "openai:qwen2.5-coder@http://localhost:8000/v1",
            BackendSpec("openai", "qwen2.5-coder", "http://localhost:8000/v1"),
        ),
        ("OpenAI: local @https://host:1/v1", BackendSpec("openai", "local", "https://host:1/v1")),
        ("ollama:qwen2.5-coder:7b", BackendSpec("ollama", "qwen2.5-coder:7b", "http://localhost:11434/v1")),
        ("ollama:llama3@http://gpu-box:11434/v1", BackendSpec("ollama", "llama3", "http://gpu-box:11434/v1")),
        ("anthropic:claude-sonnet-4-5", BackendSpec("anthropic", "claude-sonnet-4-5")),
        ("openai:org@team/model@http://h/v1", BackendSpec("openai", "org@team/model", "http://h/v1")),
        ("manual:runs/prompts", BackendSpec("manual", "manual", path="runs/prompts")),
        ("scripted:replies.json", BackendSpec("scripted", "scripted", path="replies.json")),
    ],
)
def test_parse_spec(spec, expected):
    assert parse_spec(spec) == expected


@pytest.mark.parametrize("spec", ["", "gpt-4o", "bogus:model", "openai:", "openai:@http://h/v1", "manual:"])
def test_bad_specs_explain_themselves(spec):
    with pytest.raises(LLMConfigError):
        parse_spec(spec)


def test_spec_round_trips_through_str():
    for spec in ("openai:gpt-4o", "openai:m@http://h:1/v1", "manual:dir", "anthropic:c"):
        assert str(parse_spec(spec)) == spec


def test_key_precedence():
    env = {"OPENAI_API_KEY": "sk-openai", "ANTHROPIC_API_KEY": "sk-ant"}
    assert resolve_api_key("openai", env) == "sk-openai"
    assert resolve_api_key("anthropic", env) == "sk-ant"
    assert resolve_api_key("openai", {**env, "REWARDLAB_LLM_API_KEY": "sk-override"}) == "sk-override"
    assert resolve_api_key("openai", {}) is None
    assert resolve_api_key("openai", {"MY_KEY": "k"}, key_env="MY_KEY") == "k"
    with pytest.raises(LLMConfigError, match="MY_KEY"):
        resolve_api_key("openai", {}, key_env="MY_KEY")


def test_openai_needs_a_key_unless_local():
    with pytest.raises(LLMConfigError, match="OPENAI_API_KEY"):
        backend_from_spec("openai:gpt-4o", env={})
    remote = backend_from_spec("openai:gpt-4o", env={"OPENAI_API_KEY": "sk-x"})
    assert isinstance(remote, OpenAIBackend) and remote.n_support is NSupport.YES
    local = backend_from_spec("openai:local@http://127.0.0.1:8000/v1", env={})
    assert isinstance(local, OpenAIBackend)
    assert local._api_key == NO_KEY_NEEDED and local.n_support is NSupport.UNKNOWN
    assert local.describe() == "openai:local at http://127.0.0.1:8000/v1"


def test_ollama_preset_never_asks_for_n():
    backend = backend_from_spec("ollama:qwen2.5-coder:7b", env={})
    assert backend.n_support is NSupport.NO and backend.base_url == "http://localhost:11434/v1"


def test_credentials_in_a_url_are_not_shown():
    backend = backend_from_spec("openai:m@https://user:hunter2@proxy.example/v1", env={})
    assert "hunter2" not in backend.describe() and "hunter2" not in repr(backend)


def test_manual_and_scripted_specs(tmp_path):
    manual = backend_from_spec(f"manual:{tmp_path}/exchange", manual_timeout_s=5)
    assert isinstance(manual, ManualBackend) and manual.timeout_s == 5
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps(["one", "two"]))
    scripted = backend_from_spec(f"scripted:{replies}")
    assert isinstance(scripted, ScriptedBackend)
    replies.write_text('{"not": "a list"}')
    with pytest.raises(LLMConfigError, match="list of strings"):
        backend_from_spec(f"scripted:{replies}")


def test_import_is_cheap():
    import subprocess
    import sys

    code = (
        "import sys, rewardlab.llm; "
        "print(sorted(m for m in ('openai', 'anthropic', 'httpx2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
