"""What `import rewardlab` sets in the environment before JAX starts (rewardlab/_xla_flags.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SHOW = (
    "import json, os, rewardlab; "
    "print(json.dumps({k: os.environ.get(k) for k in ('XLA_FLAGS', 'XLA_PYTHON_CLIENT_PREALLOCATE')}))"
)


def _env_after_import(**env: str) -> dict[str, str | None]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("XLA_", "REWARDLAB_KEEP"))}
    out = subprocess.run(
        [sys.executable, "-c", SHOW], env={**base, **env}, capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_gpu_memory_is_taken_as_needed_unless_the_user_says_otherwise():
    """Several JAX processes share one GPU in a search: none may take 75 % of it at start."""
    assert _env_after_import()["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    assert _env_after_import(XLA_PYTHON_CLIENT_PREALLOCATE="true")["XLA_PYTHON_CLIENT_PREALLOCATE"] == "true"


def test_the_safe_flag_is_added_and_a_users_flags_are_kept():
    flags = _env_after_import(XLA_FLAGS="--xla_dump_to=/tmp/x")["XLA_FLAGS"]
    assert flags.startswith("--xla_dump_to=/tmp/x") and "--xla_cpu_multi_thread_eigen=false" in flags
    assert _env_after_import(REWARDLAB_KEEP_XLA_FLAGS="1")["XLA_FLAGS"] is None
