"""XLA flags rewardlab needs, set before JAX starts its CPU backend.

XLA's multi-threaded Eigen pool on CPU can wedge while a `vmap`ped program's result is
materialised: every worker parks on a futex and the call never returns. We hit it here (a training
chunk hung for 10 minutes with all threads idle), and a public report measured 14 hangs in 16 runs
with the pool on and 0 in 12 with it off. On the 2-core machines we target, single-threaded Eigen
was as fast or faster for our small matrices (see the closing notes of the engine issue).
(Later hangs had another cause, a batched LAPACK QR deadlocking XLA's intra-op pool, now avoided in
`engines.ppo_jax.init_runs`; it may have been behind this first one too. The flag stays: it measured
no slower.) Set REWARDLAB_KEEP_XLA_FLAGS=1 to leave XLA_FLAGS untouched.
"""

from __future__ import annotations

import os
import sys

SAFE_FLAGS = ("--xla_cpu_multi_thread_eigen=false",)


def apply() -> bool:
    """Add the safe flags to XLA_FLAGS unless the user set them or opted out; True if applied in time."""
    if os.environ.get("REWARDLAB_KEEP_XLA_FLAGS") == "1":
        return False
    current = os.environ.get("XLA_FLAGS", "")
    missing = [f for f in SAFE_FLAGS if f.split("=")[0] not in current]
    if not missing:
        return True
    os.environ["XLA_FLAGS"] = " ".join([current, *missing]).strip()
    backend_started = False
    if "jax" in sys.modules:
        try:
            from jax._src import xla_bridge

            backend_started = bool(getattr(xla_bridge, "_backends", {}))
        except Exception:
            backend_started = False
    return not backend_started
