"""Training untrusted reward programs in an isolated child process.

`train_in_worker` runs an engine's batched `train_fns` for a batch of candidates in a child
(`_train_child`) and reads the results from a JSON file the child writes at the end. If the child
dies (a signal, the memory limit, the wall-clock limit) the batch's results are lost, so every
candidate of the batch is retried alone, each in a fresh child: the candidate that killed the batch
dies again and gets a `status="error"` result that says how; the others train normally. The search
goes on either way, and everything the children write stays inside `run_dir`.

A stall watchdog guards against a training that hangs forever in XLA's CPU runtime (seen with all of
XLA's threads idle and the main thread waiting for a result; the cause we found, a batched LAPACK QR
deadlocking the intra-op pool, is fixed in `engines.ppo_jax.init_runs`). Once the child has written its first
progress line (compilation done), it must write another within `stall_limit(...)` seconds or it is
killed like a timed-out child. A stall is not the candidates' fault, so the same batch is retried
once whole; only if that attempt fails too are the candidates retried alone.

With a `ResidentWorker` (`sandbox.resident`; the local evaluator keeps one per search) the first attempt
of a batch goes to a long-lived child that already holds the engine's compiled programs, instead of a
fresh one; every retry uses fresh one-shot children as above.
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
from typing import TYPE_CHECKING, Any, Literal

from rewardlab.config import PPOConfig
from rewardlab.sandbox.guard import write_json_atomic
from rewardlab.sandbox.process import MEMORY_MARKERS, ChildExit, last_line, spawn, watch
from rewardlab.sandbox.report import Limits
from rewardlab.sandbox.resident import ResidentWorker, resident_key
from rewardlab.sandbox.static import check_static
from rewardlab.types import RewardProgram, TrainResult

if TYPE_CHECKING:  # importing tasks loads JAX, which the parent side of the sandbox never needs
    from rewardlab.engines.halving import Halving
    from rewardlab.tasks.ref import TaskRef

DEFAULT_MEMORY_MB = 16_384
DEFAULT_TIMEOUT_S = 3600.0
"""Wall-clock limit of one worker (a batch, then each solo retry); None means no limit."""
STALL_MIN_S = 120.0
"""The default stall limit never goes below this many seconds without a new progress line."""
STALL_GAP_FACTOR = 20.0
"""The default stall limit is this many times the longest gap seen so far between progress lines."""


def stall_limit(
    gaps: Sequence[float], first_line_s: float = 0.0, stall_s: float | None = None
) -> float | None:
    """Seconds without a new progress line after which a training child counts as stalled; None: never.

    `gaps` are the seconds between consecutive progress lines seen so far and `first_line_s` the
    seconds from the child's start to its first line (imports, compilation and the first chunk).
    With `stall_s=None` (the default policy) the limit is
    `max(STALL_MIN_S, STALL_GAP_FACTOR * longest gap)`; until a gap is known, `first_line_s` stands
    in for it, an overestimate of one chunk that keeps a slow second chunk from looking like a stall.
    A positive `stall_s` is used as it is; zero or a negative value turns the watchdog off.
    """
    if stall_s is not None:
        return float(stall_s) if stall_s > 0 else None
    longest = max(gaps) if gaps else first_line_s
    return max(STALL_MIN_S, STALL_GAP_FACTOR * longest)


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
    task: str | TaskRef,
    programs: Sequence[RewardProgram],
    config: PPOConfig | None = None,
    seeds: Sequence[int] = (0,),
    run_dir: str | Path | None = None,
    timeout_s: float | None = DEFAULT_TIMEOUT_S,
    *,
    memory_mb: int | None = DEFAULT_MEMORY_MB,
    jax_cache_dir: str | Path | None = None,
    on_event: Callable[[WorkerEvent], None] | None = None,
    stall_s: float | None = None,
    engine: str | None = None,
    resident: ResidentWorker | None = None,
    warm_start: str | Path | None = None,
    save_policies: bool = False,
    halving: Halving | None = None,
) -> list[TrainResult]:
    """Train every (program, seed) pair in a sandboxed child; results in candidate-major order.

    `task` is a task name or a `TaskRef` (`rewardlab.tasks.ref`): the child imports the task from it.
    Programs are LLM-written or user code and are checked by the static policy here and again in the
    child; a task's own baseline that only exists as a callable (`RewardProgram.fn`) is taken from the
    task in the child instead of from source.
    `timeout_s` bounds each child's wall-clock time (the batch's, then each solo retry's; None: no
    limit, so a reward that loops forever inside training would hang the run). The JAX
    compilation cache lives in `jax_cache_dir` (default: `run_dir/jax_cache`), so a resumed run reuses
    compiled programs and nothing is written outside the run folder. Without `run_dir` a temporary
    folder is used and removed.

    `stall_s` sets the stall watchdog: None (default) uses `stall_limit`'s adaptive policy (at least
    `STALL_MIN_S`), a positive number is the limit in seconds, zero or negative turns it off. A stalled
    batch is retried once whole before its candidates are retried alone.

    `engine` names the training engine (`rewardlab.engines.get`); None (the default) trains on the task's
    own engine (`Task.engine`), which the child reads from the task it imports.

    `resident`: a long-lived child (`sandbox.resident`) that trains the batch's first attempt, keeping
    compiled programs from earlier batches; the job folders stay in `run_dir/worker/`, the child's own
    files (stdout, stderr, HOME) are under the resident's root. None (the default): a fresh child per
    attempt.

    `warm_start`: a saved training state (`engines.warm_start`; a file the child may read) every run starts
    from; `save_policies`: each finished run's state is saved in its job folder's `policies/`, named in
    the result's `extra["policy"]`. The JAX PPO engine only; the caller checks the file against the task
    first (the child's own check turns a misfit into every candidate's error result).

    `halving`: successive halving inside the batch (`engines.halving`; the JAX PPO engine only): a
    dropped candidate's results stop at its rung (`extra["halved_at"]`). A solo retry has nothing to halve.
    """
    if not programs:
        raise ValueError("train_in_worker needs at least one program")
    if not seeds:
        raise ValueError("train_in_worker needs at least one seed")
    names = [p.name for p in programs]
    if len(set(names)) != len(names):
        raise ValueError(f"candidate names must be unique within a batch: {names}")
    seed_list = [int(s) for s in seeds]
    ref = task_ref(task)
    results: dict[tuple[str, int], TrainResult] = {}
    checked: list[RewardProgram] = []
    for p in programs:
        if p.fn is not None:
            if p.origin not in ("human", "sparse"):
                raise ValueError(f"{p.name}: only a task's own human/sparse reward may be a callable")
            checked.append(p)
            continue
        report = check_static(p.source, p.name)
        if report.ok:
            checked.append(p)
        else:
            for s in seed_list:
                results[(p.name, s)] = _error(p.name, s, f"{report.kind}: {report.message}")
    if checked:
        with _run_folder(run_dir) as root:
            cache = Path(jax_cache_dir) if jax_cache_dir is not None else root / "jax_cache"
            limits = Limits(wall_s=timeout_s, cpu_s=None, memory_mb=memory_mb)
            keep = {"warm_start": str(Path(warm_start).resolve()) if warm_start else None,
                    "save_policies": bool(save_policies),
                    "halving": halving.to_dict() if halving is not None else None}
            runner = _Runner(
                ref, config, seed_list, root, cache, limits, on_event, stall_s, engine, resident, keep
            )
            results.update(runner.run_batch(checked))
    return [results[(p.name, s)] for p in programs for s in seed_list]


@contextlib.contextmanager
def _run_folder(run_dir: str | Path | None) -> Iterator[Path]:
    if run_dir is not None:
        yield Path(run_dir)
        return
    with tempfile.TemporaryDirectory(prefix="rewardlab-worker-") as tmp:
        yield Path(tmp)


def task_ref(task: str | TaskRef) -> TaskRef:
    """A reference a child can load: `task` itself, or the reference a task name resolves to."""
    if not isinstance(task, str):
        return task
    from rewardlab.tasks.ref import resolve

    return resolve(task, check=False)[1]


def job_candidate(p: RewardProgram) -> dict[str, Any]:
    """A program as a job file lists it; a task's callable baseline goes by its role, not its source."""
    entry: dict[str, Any] = {"name": p.name, "source": p.source}
    if p.fn is not None:
        entry["task_reward"] = p.origin
    return entry


@dataclass
class _Runner:
    task: TaskRef
    config: PPOConfig | None
    seeds: list[int]
    run_dir: Path
    cache: Path
    limits: Limits
    on_event: Callable[[WorkerEvent], None] | None
    stall_s: float | None = None
    engine: str | None = None
    resident: ResidentWorker | None = None
    keep: dict[str, Any] = field(default_factory=dict)  # job fields: warm_start, save_policies
    _counter: Any = field(default_factory=itertools.count)

    def run_batch(self, programs: list[RewardProgram], retry_stall: bool = True) -> _Results:
        results, failure = self._run(programs, resident=retry_stall and self.resident is not None)
        if results is not None:
            return results
        names = tuple(p.name for p in programs)
        if failure.stalled and retry_stall:
            # Not the candidates' fault: the same batch again costs one compile, solo retries one each.
            self._emit(WorkerEvent("retry", names, message=f"{failure.message}; retrying the batch"))
            results, failure = self._run(programs)
            if results is not None:
                return results
        if len(programs) == 1:
            return {(names[0], s): _error(names[0], s, failure.message) for s in self.seeds}
        self._emit(
            WorkerEvent(
                "retry", names, message=f"batch worker {failure.message}; retrying each candidate alone"
            )
        )
        out: dict[tuple[str, int], TrainResult] = {}
        for p in programs:
            out.update(self.run_batch([p], retry_stall=False))
        return out

    def _run(self, programs: list[RewardProgram], resident: bool = False) -> tuple[_Results | None, _Failure]:
        names = tuple(p.name for p in programs)
        job_dir = self.run_dir / "worker" / f"job-{next(self._counter):03d}"
        while job_dir.exists():
            job_dir = job_dir.with_name(f"job-{next(self._counter):03d}")
        job_dir.mkdir(parents=True)
        self.cache.mkdir(parents=True, exist_ok=True)
        write_json_atomic(
            job_dir / "job.json",
            {
                "task": self.task.to_dict(),
                "engine": self.engine,
                "config": dataclasses.asdict(self.config) if self.config is not None else None,
                "seeds": self.seeds,
                "limits": self.limits.to_dict(),
                "jax_cache_dir": str(self.cache.resolve()),
                "candidates": [job_candidate(p) for p in programs],
                **self.keep,
            },
        )
        wall = self.limits.wall_s
        dog = _Watchdog(time.monotonic() + wall if wall is not None else None, self.stall_s)
        pid: int | None = None

        def on_line(info: dict[str, Any]) -> None:
            dog.saw_line(info)
            self._emit(WorkerEvent("progress", names, pid=pid, info=info))

        tail = _ProgressTail(job_dir / "progress.jsonl", on_line)
        outcome: ChildExit | None
        if resident and self.resident is not None:
            key = resident_key(self.task, self.engine, self.limits.memory_mb, self.cache)
            pid = self.resident.ensure(key)
            info = {"job_dir": str(job_dir), "resident": True}
            self._emit(WorkerEvent("started", names, pid=pid, info=info))
            outcome = self.resident.run_job(key, job_dir, dog.deadline, on_poll=tail.poll)
        else:
            proc = spawn(
                "rewardlab.sandbox._train_child",
                job_dir,
                extra_env={"REWARDLAB_JAX_CACHE": str(self.cache.resolve())},
            )
            pid = proc.pid
            self._emit(WorkerEvent("started", names, pid=proc.pid, info={"job_dir": str(job_dir)}))
            outcome = watch(proc, job_dir, dog.deadline, on_poll=tail.poll)
        tail.poll()
        results = _read_results(job_dir / "results.json", names, self.seeds)
        if outcome is None:  # a resident child wrote the results file and lives on
            if results is None and self.resident is not None:
                self.resident.close()  # whatever made the file unreadable must not train the next batch
            failure = _Failure("the training process wrote unreadable results", stalled=False)
        else:
            stalled = outcome.timed_out and dog.cause == "stall"
            failure = _Failure(self._explain(outcome, dog), stalled=stalled)
        if results is None:
            self._emit(WorkerEvent("failed", names, pid=pid, message=failure.message))
        else:
            self._emit(WorkerEvent("finished", names, pid=pid))
        return results, failure

    def _explain(self, outcome: ChildExit, dog: _Watchdog) -> str:
        if outcome.timed_out and dog.cause == "stall":
            return (
                f"training stalled: no progress for {_seconds(dog.stall_limit_s)} s after chunk {dog.chunks} "
                "(likely an XLA CPU runtime hang); the process was killed"
            )
        if outcome.timed_out:
            return f"training timed out after {self.limits.wall_s:g} s (wall clock); the process was killed"
        memory = any(m in outcome.stderr_tail for m in MEMORY_MARKERS)
        hint = f" (out of memory; limit {self.limits.memory_mb} MB)" if memory else ""
        detail = last_line(outcome.stderr_tail) if outcome.signal is None and not memory else ""
        return f"training process {outcome.describe()}{hint}" + (f": {detail}" if detail else "")

    def _emit(self, event: WorkerEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)


@dataclass(frozen=True)
class _Failure:
    message: str  # why the attempt gave no results, for events and error results
    stalled: bool  # killed by the stall watchdog (not by the wall clock, a signal or an exit)


class _Watchdog:
    """The kill deadline of one training child: the wall-clock limit or the stall limit, the earlier.

    The stall limit is armed by the first progress line and measured from the latest one, with the
    gaps seen by the parent's polls (`stall_limit` sets the policy). `cause` records which of the two
    limits had passed when `deadline` first returned a passed time ("timeout" or "stall").
    Times are `time.monotonic()` values; `now` can be given for tests.
    """

    def __init__(
        self, wall_deadline: float | None, stall_s: float | None, started: float | None = None
    ) -> None:
        self.wall_deadline = wall_deadline
        self.stall_s = stall_s
        self.started = time.monotonic() if started is None else started
        self.last_line: float | None = None
        self.gaps: list[float] = []
        self.first_line_s = 0.0
        self.chunks = 0  # progress lines of finished chunks (checkpoint lines are not counted)
        self.stall_limit_s: float | None = None
        self._fired: Literal["timeout", "stall"] | None = None
        self._nearest: Literal["timeout", "stall"] | None = None

    def saw_line(self, info: dict[str, Any], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if self.last_line is None:
            self.first_line_s = now - self.started
        else:
            self.gaps.append(now - self.last_line)
        self.last_line = now
        if info.get("checkpoint") is None:
            self.chunks += 1

    def deadline(self, now: float | None = None) -> float | None:
        """The time (`time.monotonic`) after which the child must be killed; asked at every poll."""
        now = time.monotonic() if now is None else now
        limits: list[tuple[float, Literal["timeout", "stall"]]] = []
        if self.wall_deadline is not None:
            limits.append((self.wall_deadline, "timeout"))
        if self.last_line is not None:
            self.stall_limit_s = stall_limit(self.gaps, self.first_line_s, self.stall_s)
            if self.stall_limit_s is not None:
                limits.append((self.last_line + self.stall_limit_s, "stall"))
        if not limits:
            return None
        when, kind = min(limits)
        if self._fired is None:
            self._nearest = kind  # `watch` compares with a slightly later clock than `now`
            if now > when:
                self._fired = kind
        return when

    @property
    def cause(self) -> Literal["timeout", "stall"] | None:
        """Which limit killed the child, once `watch` reports a kill (None while no limit exists)."""
        return self._fired or self._nearest


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


def _seconds(value: float | None) -> str:
    """120.0 -> '120', 0.001 -> '0.001', 1234.56 -> '1235' (for messages)."""
    if value is None:
        return "?"
    return f"{value:.0f}" if value >= 10 else f"{value:g}"


def _error(name: str, seed: int, message: str) -> TrainResult:
    return TrainResult(name, seed, "error", (), 0, 0.0, 0.0, message=message)
