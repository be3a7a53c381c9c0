"""What one training batch asks a Ray cluster for: CPUs, GPUs, memory, and the threads it may use.

A function of the search config and the task, so the request can be tested without a GPU. Ray's
`num_cpus` is bookkeeping only: a JAX process still starts a thread pool per core of the node, so the
same number goes into the environment of the task (XLA, OpenMP and BLAS thread caps), which the
sandboxed child inherits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")
XLA_CPU_FLAGS = "--xla_cpu_multi_thread_eigen=false"
"""Kept in every task's XLA_FLAGS: the flag `rewardlab._xla_flags` sets locally (a hang guard)."""


@dataclass(frozen=True)
class Request:
    """The resources of one batch's Ray task and the environment variables it runs with."""

    num_cpus: float
    num_gpus: float
    memory_bytes: int
    env_vars: tuple[tuple[str, str], ...]

    def options(self) -> dict[str, Any]:
        """Keyword arguments for `remote_fn.options(...)`."""
        return {
            "num_cpus": self.num_cpus,
            "num_gpus": self.num_gpus,
            "memory": self.memory_bytes,
            "runtime_env": {"env_vars": dict(self.env_vars)},
        }


def wants_gpu(practical_on: str) -> bool:
    """A task whose search is practical only on a GPU (`Task.practical_on == "GPU"`) trains on one."""
    return practical_on.strip().upper() == "GPU"


def request(
    *, cpus: float, gpus: float | None, memory_mb: int, practical_on: str = "CPU"
) -> Request:
    """The request of one batch. `gpus=None` means: one GPU if the task wants one, else none; a number
    is used as it is (0 keeps a GPU task on CPUs). Threads are capped at the CPUs asked for (at least 1).
    """
    if cpus <= 0:
        raise ValueError(f"ray_cpus must be > 0 (got {cpus})")
    if memory_mb < 0:
        raise ValueError(f"ray_memory_mb must be >= 0 (got {memory_mb})")
    n_gpus = (1.0 if wants_gpu(practical_on) else 0.0) if gpus is None else float(gpus)
    if n_gpus < 0:
        raise ValueError(f"ray_gpus must be >= 0 (got {gpus})")
    threads = str(max(1, math.floor(cpus)))
    env = [(v, threads) for v in THREAD_VARS]
    env.append(("XLA_FLAGS", XLA_CPU_FLAGS))
    if n_gpus > 0:  # JAX otherwise grabs 75% of the GPU's memory at start; batches may share a GPU
        env.append(("XLA_PYTHON_CLIENT_PREALLOCATE", "false"))
    return Request(float(cpus), n_gpus, int(memory_mb) * 2**20, tuple(env))
