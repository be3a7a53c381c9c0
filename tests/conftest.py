"""Shared test setup: a per-session JAX compilation cache and the fake LLM server on sys.path."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

# Identical programs compiled by several tests hit this cache instead of recompiling; it lives in a
# fresh temporary directory so that no test depends on the developer's own cache.
os.environ.setdefault("REWARDLAB_JAX_CACHE", tempfile.mkdtemp(prefix="rewardlab-jax-cache-"))

# tests/llm/fake_openai.py (a real HTTP server speaking the OpenAI API) is shared by other suites.
sys.path.insert(0, str(Path(__file__).parent / "llm"))

# tests/user_env.py writes a user's own environment file into a temporary folder (task-reference tests).
sys.path.insert(0, str(Path(__file__).parent))
