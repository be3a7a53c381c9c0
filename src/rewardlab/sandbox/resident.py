"""A long-lived sandboxed training child per search: the batches of one task, one after another.

Why: a fresh child per batch pays a Python and JAX start, the task's import and the tracing of the
engine's reward-free programs (rollout, learn, evaluation: identical for every batch, so the compiled
programs themselves come from the persistent cache) before it trains a few seconds. On a default
CartPole search that was most of a later batch's time. A resident child (`_train_child --serve`) keeps
those programs in memory, so a later batch compiles only its reward program.

What it does not change: the child is hardened and audited exactly as a one-shot child, and each job
may write only inside its own folder. Candidates of later batches run in the process that ran earlier
ones, as the candidates of one batch always did; the restricted loader gives every candidate fresh
module proxies and no way to reach shared state, so nothing one batch does reaches the next. A job
that fails in any way (a death, the memory limit, a timeout, a stall) ends the resident: the worker's
retries then use one-shot children as before, and the next batch starts a fresh resident. After
`max_jobs` jobs the resident is replaced anyway, so whatever a process accumulates stays bounded.
"""

from __future__ import annotations

import contextlib
import itertools
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rewardlab.sandbox.guard import write_json_atomic
from rewardlab.sandbox.process import ChildExit, kill_group, spawn, watch_until
from rewardlab.sandbox.report import Limits

if TYPE_CHECKING:
    from rewardlab.tasks.ref import TaskRef

MAX_JOBS = 50
"""Jobs one resident child trains before it is replaced by a fresh one."""
CHILD = "rewardlab.sandbox._train_child"


@dataclass(frozen=True)
class ResidentKey:
    """What a resident child is fixed to at its start; a batch that differs gets another child."""

    task: dict[str, Any]  # TaskRef.to_dict()
    engine: str | None
    memory_mb: int | None
    cache: str


@dataclass
class ResidentWorker:
    """Owns at most one long-lived training child under `root` (a run folder's `worker/`).

    `run_job` hands a job folder to the child (starting one first if needed) and waits for its
    `results.json`, the child's death, or the deadline. The caller (`sandbox.worker`) writes the job
    file and reads the results, as for a one-shot child; `close` ends the child.
    """

    root: Path
    max_jobs: int = MAX_JOBS
    key: ResidentKey | None = None
    proc: subprocess.Popen | None = None
    serve_dir: Path | None = None
    jobs: int = 0
    starts: int = 0
    _counter: Any = field(default_factory=itertools.count)

    def run_job(
        self,
        key: ResidentKey,
        job_dir: Path,
        deadline: Callable[[], float | None],
        on_poll: Callable[[], None] | None = None,
    ) -> ChildExit | None:
        """Train the job in `job_dir` in the resident child: None when its results.json is written,
        else how the child ended (it is gone then, and the next job starts a fresh one)."""
        proc = self._child(key)
        assert proc.stdin is not None and self.serve_dir is not None
        results = job_dir / "results.json"
        try:
            proc.stdin.write(f"{job_dir.resolve()}\n".encode())
            proc.stdin.flush()
        except OSError:  # the child died between jobs; the wait below reports how
            pass
        outcome = watch_until(proc, self.serve_dir, deadline, on_poll, done=results.exists)
        self.jobs += 1
        if outcome is not None:
            self._forget()
        elif self.jobs >= self.max_jobs:
            self.close()
        return outcome

    def ensure(self, key: ResidentKey) -> int:
        """The pid of a live child fixed to `key`, started now if there is none (or another key's)."""
        return self._child(key).pid

    def _child(self, key: ResidentKey) -> subprocess.Popen:
        if self.proc is not None and (self.key != key or self.proc.poll() is not None):
            self.close()
        if self.proc is None:
            self.serve_dir = self.root / f"resident-{next(self._counter):03d}"
            while self.serve_dir.exists():
                self.serve_dir = self.root / f"resident-{next(self._counter):03d}"
            self.serve_dir.mkdir(parents=True)
            Path(key.cache).mkdir(parents=True, exist_ok=True)
            limits = Limits(wall_s=None, cpu_s=None, memory_mb=key.memory_mb)
            spec = {"task": key.task, "engine": key.engine, "limits": limits.to_dict()}
            spec["jax_cache_dir"] = key.cache
            write_json_atomic(self.serve_dir / "serve.json", spec)
            self.proc = spawn(
                CHILD,
                self.serve_dir,
                extra_env={"REWARDLAB_JAX_CACHE": key.cache},
                flags=("--serve",),
                stdin_pipe=True,
            )
            self.key, self.jobs = key, 0
            self.starts += 1
        return self.proc

    def _forget(self) -> None:
        """The child is gone (watch_until reaped it): drop the handle and its pipe."""
        if self.proc is not None and self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        self.proc, self.key = None, None

    def close(self, grace_s: float = 5.0) -> None:
        """End the child: stdin closed (it exits after its job), then killed if it lingers."""
        proc = self.proc
        if proc is None:
            return
        self._forget()
        end = time.monotonic() + grace_s
        while proc.poll() is None and time.monotonic() < end:
            time.sleep(0.02)
        kill_group(proc)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace_s)


def resident_key(ref: TaskRef, engine: str | None, memory_mb: int | None, cache: Path) -> ResidentKey:
    return ResidentKey(ref.to_dict(), engine, memory_mb, str(cache.resolve()))
