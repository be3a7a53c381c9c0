"""XLA flags rewardlab needs, set before JAX starts its CPU backend.

XLA's multi-threaded Eigen pool on CPU can wedge while a `vmap`ped program's result is
materialised: every worker parks on a futex and the call never returns. We hit it here (a training
chunk hung for 10 minutes with all threads idle), and a public report measured 14 hangs in 16 runs
with the pool on and 0 in 12 with it off. On the 2-core machines we target, single-threaded Eigen
was as fast or faster for our small matrices (see the closing notes of the engine issue).
(Later hangs had another cause, a batched LAPACK QR deadlocking XLA's intra-op pool, now avoided in
`engines.ppo_jax.init_runs`; it may have been behind this first one too. The flag stays: it measured
no slower.) Set REWARDLAB_KEEP_XLA_FLAGS=1 to leave XLA_FLAGS untouched.

`SPEED_FLAGS` trade code generation for compile time where no GPU backend is installed: LLVM's
optimisation level 1 instead of XLA's default. On this project's CPU workloads compile is often most of a
reward search's wall time, and the heavy operations (matrix products, convolutions) are library calls that
the level does not touch. Measured in a fresh process per program set, no compilation cache, alternating
(2026-11-30, 2-core machine): the cold compile of the PPO rollout, learn and evaluation programs for 16
runs took 0.3-0.7x as long (CartPole 5.5-19.6 s vs 9.5-34.3 s, Pendulum 6.1-6.5 vs 8.5-10.0, Breakout-MinAtar
10.1-10.8 vs 13.5-15.6, DoorKey-8x8 19.1 vs 28.3), while 50 PPO updates ran as fast within the noise
(CartPole 3.9-6.5 s vs 3.9-7.2, Pendulum 17.1-19.5 vs 17.1-18.3, Breakout 108.9-110.4 vs 105.3-115.9).
Level 1 changes the rounding of some generated code: a CartPole search gave identical numbers, Pendulum
trainings differ as with another seed. Not applied with a CUDA plugin installed (GPU kernels were not
measured).

On a GPU, JAX by default takes 75 % of the device's memory when its backend starts. A search runs
several JAX processes on one machine at once (the search itself, the candidate-checking child, the
training child, which stays alive between batches), so the second would find the memory gone.
`apply` sets XLA_PYTHON_CLIENT_PREALLOCATE=false (memory taken as needed) unless the user set it.
"""

from __future__ import annotations

import os
import sys

SAFE_FLAGS = ("--xla_cpu_multi_thread_eigen=false",)
SPEED_FLAGS = ("--xla_backend_optimization_level=1",)


def _gpu_plugin() -> bool:
    """Whether a JAX GPU plugin is installed (found without importing JAX)."""
    import importlib.util

    return any(
        importlib.util.find_spec(name) is not None
        for name in ("jax_cuda12_plugin", "jax_cuda13_plugin", "jax_rocm60_plugin", "jax_rocm7_plugin")
    )


def apply() -> bool:
    """Add the safe flags to XLA_FLAGS unless the user set them or opted out; True if applied in time."""
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    if os.environ.get("REWARDLAB_KEEP_XLA_FLAGS") == "1":
        return False
    current = os.environ.get("XLA_FLAGS", "")
    flags = SAFE_FLAGS if _gpu_plugin() else SAFE_FLAGS + SPEED_FLAGS
    missing = [f for f in flags if f.split("=")[0] not in current]
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
