"""JAX's persistent compilation cache, turned on once per process (bottom layer: training, task checks).

The cache turns the second compile of an identical program (same task, config and reward code; e.g. a
resumed run, a re-evaluation, or `check_task` on the same environment in the next command) from seconds
into a cache read. Set REWARDLAB_JAX_CACHE=0 to turn it off, or to a directory to move it.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax

_DONE = False


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rewardlab" / "jax"


def enable_compilation_cache(path: str | os.PathLike | None = None) -> Path | None:
    """Turn on JAX's persistent compilation cache (idempotent); returns the directory or None if off."""
    global _DONE
    setting = os.environ.get("REWARDLAB_JAX_CACHE", "")
    if setting == "0":
        return None
    directory = Path(path or setting or default_cache_dir())
    if not _DONE:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None  # an unwritable home must not stop training; compiles are just not cached
        jax.config.update("jax_compilation_cache_dir", str(directory))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
        _DONE = True
    return directory
