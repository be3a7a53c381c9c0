"""Training untrusted reward programs in an isolated child process.

`train_in_worker` runs the engine's batched `train_fns` for a batch of candidates in a child
(`_train_child`) and reads the results from a JSON file the child writes at the end. If the child
dies (a signal, the memory limit, the wall-clock limit) the batch's results are lost, so every
candidate of the batch is retried alone, each in a fresh child: the candidate that killed the batch
dies again and gets a `status="error"` result that says how; the others train normally. The search
goes on either way, and everything the children write stays inside `run_dir`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rewardlab.config import PPOConfig
from rewardlab.sandbox.guard import write_json_atomic
from rewardlab.sandbox.process import MEMORY_MARKERS, ChildExit, last_line, spawn, watch
from rewardlab.sandbox.report import Limits
from rewardlab.sandbox.static import check_static
from rewardlab.types import RewardProgram, TrainResult

DEFAULT_MEMORY_MB = 16_384
DEFAULT_TIMEOUT_S = 3600.0
"""Wall-clock limit of one worker (a batch, then each solo retry); None means no limit."""

_Results = dict[tuple[str, int], TrainResult]
EventKind = Literal["started", "progress", "finished", "failed", "retry"]


@dataclass(frozen=True)
class WorkerEvent:
    """What the worker is doing, for progress bars and logs (`on_event` callback)."""

    kind: EventKind
    candidates: tuple[str, ...]
    pid: int | None = None
    info: dict[str, Any] = field(default_factory=dict)
    message: str = ""


def train_in_worker(
    task_name: str,
    programs: Sequence[RewardProgram],
    config: PPOConfig | None = None,
    seeds: Sequence[int] = (0,),
    run_dir: str | Path | None = None,
    timeout_s: float | None = DEFAULT_TIMEOUT_S,
    *,
    memory_mb: int | None = DEFAULT_MEMORY_MB,
    jax_cache_dir: str | Path | None = None,
    on_event: Callable[[WorkerEvent], None] | None = None,
) -> list[TrainResult]:
    """Train every (program, seed) pair in a sandboxed child; results in candidate-major order.

    `timeout_s` bounds each child's wall-clock time (the batch's, then each solo retry's; None: no
    limit, so a reward that loops forever inside training would hang the run). The JAX
    compilation cache lives in `jax_cache_dir` (default: `run_dir/jax_cache`), so a resumed run reuses
    compiled programs and nothing is written outside the run folder. Without `run_dir` a temporary
    folder is used and removed.
    """
    if not programs:
        raise ValueError("train_in_worker needs at least one program")
    if not seeds:
        raise ValueError("train_in_worker needs at least one seed")
    names = [p.name for p in programs]
    if len(set(names)) != len(names):
        raise ValueError(f"candidate names must be unique within a batch: {names}")
    seed_list = [int(s) for s in seeds]
    results: dict[tuple[str, int], TrainResult] = {}
    checked: list[RewardProgram] = []
    for p in programs:
        report = check_static(p.source, p.name)
        if report.ok:
            checked.append(p)
        else:
            for s in seed_list:
                results[(p.name, s)] = _error(p.name, s, f"{report.kind}: {report.message}")
    if checked:
        with _run_folder(run_dir) as root:
            cache = Path(jax_cache_dir) if jax_cache_dir is not None else root / "jax_cache"
            runner = _Runner(task_name, config, seed_list, root, cache,
                             Limits(wall_s=timeout_s, cpu_s=None, memory_mb=memory_mb), on_event)
            results.update(runner.run_batch(checked))
    return [results[(p.name, s)] for p in programs for s in seed_list]


@contextlib.contextmanager
def _run_folder(run_dir: str | Path | None) -> Iterator[Path]:
    if run_dir is not None:
        yield Path(run_dir)
        return
    with tempfile.TemporaryDirectory(prefix="rewardlab-worker-") as tmp:
        yield Path(tmp)


@dataclass
class _Runner:
    task_name: str
    config: PPOConfig | None
    seeds: list[int]
    run_dir: Path
    cache: Path
    limits: Limits
    on_event: Callable[[WorkerEvent], None] | None
    _counter: Any = field(default_factory=itertools.count)

    def run_batch(self, programs: list[RewardProgram]) -> _Results:
        results, outcome = self._run(programs)
        if results is not None:
            return results
        names = tuple(p.name for p in programs)
        if len(programs) == 1:
            return {(names[0], s): _error(names[0], s, self._explain(outcome)) for s in self.seeds}
        self._emit(WorkerEvent("retry", names, message=f"batch worker {self._explain(outcome)}; "
                               "retrying each candidate alone"))
        out: dict[tuple[str, int], TrainResult] = {}
        for p in programs:
            out.update(self.run_batch([p]))
        return out

    def _run(self, programs: list[RewardProgram]) -> tuple[_Results | None, ChildExit]:
        names = tuple(p.name for p in programs)
        job_dir = self.run_dir / "worker" / f"job-{next(self._counter):03d}"
        while job_dir.exists():
            job_dir = job_dir.with_name(f"job-{next(self._counter):03d}")
        job_dir.mkdir(parents=True)
        self.cache.mkdir(parents=True, exist_ok=True)
        write_json_atomic(job_dir / "job.json", {
            "task": self.task_name,
            "config": dataclasses.asdict(self.config) if self.config is not None else None,
            "seeds": self.seeds,
            "limits": self.limits.to_dict(),
            "jax_cache_dir": str(self.cache.resolve()),
            "candidates": [{"name": p.name, "source": p.source} for p in programs],
        })
        proc = spawn("rewardlab.sandbox._train_child", job_dir,
                     extra_env={"REWARDLAB_JAX_CACHE": str(self.cache.resolve())})
        self._emit(WorkerEvent("started", names, pid=proc.pid, info={"job_dir": str(job_dir)}))
        tail = _ProgressTail(job_dir / "progress.jsonl", lambda info: self._emit(
            WorkerEvent("progress", names, pid=proc.pid, info=info)))
        wall = self.limits.wall_s
        deadline = time.monotonic() + wall if wall is not None else None
        outcome = watch(proc, job_dir, lambda: deadline, on_poll=tail.poll)
        tail.poll()
        results = _read_results(job_dir / "results.json", names, self.seeds)
        if results is None:
            self._emit(WorkerEvent("failed", names, pid=proc.pid, message=self._explain(outcome)))
        else:
            self._emit(WorkerEvent("finished", names, pid=proc.pid))
        return results, outcome

    def _explain(self, outcome: ChildExit) -> str:
        if outcome.timed_out:
            return f"training timed out after {self.limits.wall_s:g} s (wall clock); the process was killed"
        memory = any(m in outcome.stderr_tail for m in MEMORY_MARKERS)
        hint = f" (out of memory; limit {self.limits.memory_mb} MB)" if memory else ""
        detail = last_line(outcome.stderr_tail) if outcome.signal is None and not memory else ""
        return f"training process {outcome.describe()}{hint}" + (f": {detail}" if detail else "")

    def _emit(self, event: WorkerEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)


class _ProgressTail:
    """Reads complete new lines of the child's progress file at every poll."""

    def __init__(self, path: Path, emit: Callable[[dict[str, Any]], None]) -> None:
        self.path, self.emit, self.offset = path, emit, 0

    def poll(self) -> None:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
        except OSError:
            return
        end = chunk.rfind(b"\n")
        if end < 0:
            return
        self.offset += end + 1
        for line in chunk[: end + 1].splitlines():
            try:
                self.emit(json.loads(line))
            except ValueError:
                continue


def _read_results(path: Path, names: tuple[str, ...], seeds: list[int]) -> _Results | None:
    """The child's results, or None unless the file holds exactly one result per (candidate, seed)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        results = [TrainResult.from_dict(d) for d in data["results"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    by_key = {(r.candidate, r.seed): r for r in results}
    if set(by_key) != {(n, s) for n in names for s in seeds}:
        return None
    return by_key


def _error(name: str, seed: int, message: str) -> TrainResult:
    return TrainResult(name, seed, "error", (), 0, 0.0, 0.0, message=message)
