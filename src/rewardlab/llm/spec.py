"""Spec strings: one short string in the CLI or config names the backend, model and server.

    openai:gpt-4o                                  OpenAI, key from $OPENAI_API_KEY
    openai:qwen2.5-coder@http://localhost:8000/v1  any OpenAI-compatible server (vLLM, llama.cpp, SGLang...)
    ollama:qwen2.5-coder:7b                        Ollama's OpenAI endpoint on localhost:11434
    anthropic:claude-sonnet-4-5                    Anthropic, key from $ANTHROPIC_API_KEY
    manual:prompts/                                a person answers through files in prompts/
    scripted:replies.json                          canned replies (a JSON list of strings), for tests

Keys come only from environment variables, are resolved when the backend is built and are never part of a
spec, a log line or a file: ``$REWARDLAB_LLM_API_KEY`` (wins), then the provider's usual variable. Local
servers need no key; a placeholder is sent.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewardlab.llm.base import Backend
from rewardlab.llm.errors import LLMConfigError
from rewardlab.llm.retry import RetryPolicy
from rewardlab.llm.types import NSupport

KEY_OVERRIDE_ENV = "REWARDLAB_LLM_API_KEY"
PROVIDER_KEY_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
OLLAMA_URL = "http://localhost:11434/v1"
KINDS = ("openai", "ollama", "anthropic", "manual", "scripted")

SPEC_HELP = (
    "LLM backend spec: openai:MODEL[@BASE_URL], ollama:MODEL[@BASE_URL], anthropic:MODEL[@BASE_URL], "
    "manual:DIR or scripted:FILE.json; keys come from $REWARDLAB_LLM_API_KEY, $OPENAI_API_KEY or "
    "$ANTHROPIC_API_KEY"
)


@dataclass(frozen=True)
class BackendSpec:
    """A parsed spec string: pure data, holds no key, safe to log and to write into a run's config."""

    kind: str
    model: str
    base_url: str | None = None
    path: str | None = None

    def __str__(self) -> str:
        if self.kind in ("manual", "scripted"):
            return f"{self.kind}:{self.path}"
        return f"{self.kind}:{self.model}" + (f"@{self.base_url}" if self.base_url else "")


def parse_spec(spec: str) -> BackendSpec:
    """Split ``KIND:MODEL[@URL]``; model names may contain ``:`` (Ollama tags), the URL starts with http."""
    if not isinstance(spec, str) or ":" not in spec:
        raise LLMConfigError(f"bad LLM spec {spec!r}; expected {SPEC_HELP}")
    kind, rest = spec.split(":", 1)
    kind = kind.strip().lower()
    rest = rest.strip()
    if kind not in KINDS:
        raise LLMConfigError(f"unknown LLM backend {kind!r} in {spec!r}; known: {', '.join(KINDS)}")
    if not rest:
        raise LLMConfigError(f"LLM spec {spec!r} names no {'folder' if kind == 'manual' else 'model'}")
    if kind in ("manual", "scripted"):
        return BackendSpec(kind=kind, model=kind, path=rest)
    model, base_url = rest, None
    for marker in ("@http://", "@https://"):
        at = rest.rfind(marker)
        if at != -1:
            model, base_url = rest[:at].strip(), rest[at + 1 :].strip()
            break
    if not model:
        raise LLMConfigError(f"LLM spec {spec!r} names no model before the @URL")
    if kind == "ollama":
        return BackendSpec(kind="ollama", model=model, base_url=base_url or OLLAMA_URL)
    return BackendSpec(kind=kind, model=model, base_url=base_url)


def resolve_api_key(
    kind: str, env: Mapping[str, str] | None = None, key_env: str | None = None
) -> str | None:
    """The key for ``kind`` from the environment, or None; ``key_env`` names a specific variable instead."""
    env = os.environ if env is None else env
    if key_env is not None:
        value = env.get(key_env)
        if not value:
            raise LLMConfigError(f"the environment variable {key_env} named for the LLM key is not set")
        return value
    for name in (KEY_OVERRIDE_ENV, PROVIDER_KEY_ENV.get(kind, "")):
        if name and env.get(name):
            return env[name]
    return None


def backend_from_spec(
    spec: str | BackendSpec,
    *,
    timeout_s: float = 120.0,
    retry: RetryPolicy | None = None,
    n_support: NSupport | None = None,
    key_env: str | None = None,
    env: Mapping[str, str] | None = None,
    manual_timeout_s: float = 3600.0,
    extra_body: Mapping[str, Any] | None = None,
    concurrency: int | None = None,
) -> Backend:
    """Build the backend a spec names. SDKs are imported only when a request is made.

    `timeout_s` is the longest silence of an HTTP backend (no token for that long; replies stream).
    `concurrency` caps the requests in flight; None: learned from the server (one for llama-cpp-python,
    llama.cpp's slot count), else the sampler's default.
    """
    if concurrency is not None and concurrency < 1:
        raise LLMConfigError(f"the LLM concurrency must be at least 1 (got {concurrency})")
    parsed = spec if isinstance(spec, BackendSpec) else parse_spec(spec)
    if parsed.kind in ("openai", "ollama"):
        from rewardlab.llm.openai_backend import OpenAIBackend

        key = resolve_api_key("openai", env, key_env)
        if parsed.kind == "ollama" and n_support is None:
            n_support = NSupport.NO  # Ollama's OpenAI endpoint does not list n among its fields
        return OpenAIBackend(
            parsed.model,
            base_url=parsed.base_url,
            api_key=key,
            timeout_s=timeout_s,
            retry=retry,
            n_support=n_support,
            extra_body=extra_body,
            concurrency=concurrency,
        )
    if parsed.kind == "anthropic":
        from rewardlab.llm.anthropic_backend import AnthropicBackend

        return AnthropicBackend(
            parsed.model,
            api_key=resolve_api_key("anthropic", env, key_env),
            base_url=parsed.base_url,
            timeout_s=timeout_s,
            retry=retry,
            concurrency=concurrency,
        )
    if parsed.kind == "manual":
        from rewardlab.llm.manual import ManualBackend

        return ManualBackend(str(parsed.path), timeout_s=manual_timeout_s)
    from rewardlab.llm.scripted import ScriptedBackend

    return ScriptedBackend(_load_replies(Path(str(parsed.path))))


def _load_replies(path: Path) -> list[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LLMConfigError(f"scripted replies {path}: cannot read a JSON list of strings ({exc})") from exc
    if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
        raise LLMConfigError(f"scripted replies {path}: expected a JSON list of strings")
    return data
