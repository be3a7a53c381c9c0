"""The smallest real search the CLI tests run, as `rewardlab search` arguments."""

from __future__ import annotations

import os
from pathlib import Path


def tiny_search_args(out: Path) -> list[str]:
    """2 candidates x 2 iterations, the best 2 confirmed on 2 seeds, 2 final seeds, 8,192 steps per run
    with 2 checkpoints of 4 episodes, written under `out`, with the test session's compile cache."""
    return [
        *("--samples", "2", "--iterations", "2", "--final-seeds", "2"),
        *("--confirm-top", "2", "--confirm-seeds", "2"),
        *("--timesteps", "8192", "--checkpoints", "2", "--eval-episodes", "4"),
        *("--out", str(out), "--set", f"jax_cache_dir={os.environ['REWARDLAB_JAX_CACHE']}"),
    ]
