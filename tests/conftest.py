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


def pytest_collection_modifyitems(config, items) -> None:
    """Run the modules that hold slow tests first (stable otherwise). `make test` hands whole modules to
    its two xdist workers (`--dist loadscope --no-loadscope-reorder`: xdist's own reorder puts
    the modules with the most tests first) in this order, so the few multi-minute searches start at
    once instead of being left for last on one worker while the other sits idle."""
    slow_modules = {item.module.__name__ for item in items if item.get_closest_marker("slow") is not None
                    and getattr(item, "module", None) is not None}
    items.sort(key=lambda item: getattr(getattr(item, "module", None), "__name__", "") not in slow_modules)
