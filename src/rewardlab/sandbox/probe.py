"""The probe: does a reward program trace, run and return finite scalars on real transitions?

`probe_many` applies the static policy in this process, then hands every program that passed to one
child process (`_probe_child`), which imports JAX once and checks the candidates one after another
under a CPU-time and memory limit; this process gives each candidate its own wall-clock budget and
kills the child when one overruns. A candidate that kills or hangs the child gets the failure, and
a fresh child resumes with the next candidate, so one bad program costs the others nothing but a
restart.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rewardlab.sandbox.guard import write_json_atomic
from rewardlab.sandbox.process import MEMORY_MARKERS, ChildExit, last_line, spawn, watch
from rewardlab.sandbox.report import CheckReport, Limits
from rewardlab.sandbox.static import check_static
from rewardlab.sandbox.worker import task_ref
from rewardlab.types import RewardProgram

if TYPE_CHECKING:  # importing tasks loads JAX, which the parent side of the sandbox never needs
    from rewardlab.tasks.ref import TaskRef

DEFAULT_LIMITS = Limits(wall_s=30.0, cpu_s=30.0, memory_mb=3072)
STARTUP_S = 180.0
"""Wall-clock allowance for the child's imports and transition sampling (slow on a loaded machine)."""


def probe(
    task: str | TaskRef,
    program: RewardProgram | str,
    limits: Limits | None = None,
    workdir: str | Path | None = None,
) -> CheckReport:
    """Check one program: static policy first, then trace and run in a sandboxed child."""
    return probe_many(task, [program], limits, workdir)[0]


check_program = probe


def probe_many(
    task: str | TaskRef | Sequence[str | TaskRef],
    programs: Sequence[RewardProgram | str],
    limits: Limits | None = None,
    workdir: str | Path | None = None,
    *,
    n_transitions: int = 64,
    seed: int = 0,
    startup_s: float = STARTUP_S,
) -> list[CheckReport]:
    """One report per program, in order.

    `task` is one task (a name or a `TaskRef`) for all programs, or one per program (a child imports
    each task from its reference and samples its transitions once). `workdir` (e.g. a folder of the
    run) receives the job files; without it a temporary folder is used and removed.
    """
    limits = limits or DEFAULT_LIMITS
    one = isinstance(task, str) or hasattr(task, "kind")  # a name or one TaskRef, else one per program
    refs = [task_ref(t).to_dict() for t in ([task] if one else list(task))]  # type: ignore[list-item]
    task_refs = refs * len(programs) if one else refs
    if len(task_refs) != len(programs):
        raise ValueError(f"got {len(task_refs)} tasks for {len(programs)} programs")
    progs = [p if isinstance(p, RewardProgram) else RewardProgram(f"candidate_{i}", p)
             for i, p in enumerate(programs)]
    reports: list[CheckReport | None] = []
    for p in progs:
        static = check_static(p.source, p.name)
        reports.append(None if static.ok else static)
    pending = [i for i, r in enumerate(reports) if r is None]
    with _workspace(workdir) as root:
        attempt = 0
        while pending:
            job_dir = _new_job_dir(root, attempt)
            write_json_atomic(job_dir / "job.json", {
                "limits": limits.to_dict(),
                "n_transitions": n_transitions,
                "transitions_dir": str(root / "transitions"),
                "seed": seed,
                "candidates": [{"name": progs[i].name, "source": progs[i].source, "task": task_refs[i]}
                               for i in pending],
            })
            tracker = _Tracker(job_dir, limits.wall_s, startup_s)
            # Probes are tiny: run them on the CPU so that no child grabs accelerator memory.
            child = spawn("rewardlab.sandbox._probe_child", job_dir, extra_env={"JAX_PLATFORMS": "cpu"})
            outcome = watch(child, job_dir, tracker.deadline)
            _keep_transitions(job_dir, root / "transitions")
            results = _read_results(job_dir, len(pending))
            for j, i in enumerate(pending):
                if j in results:
                    reports[i] = results[j].with_(name=progs[i].name)
            missing = [i for j, i in enumerate(pending) if j not in results]
            if not missing:
                break
            if not tracker.ready() or tracker.in_setup():
                fail = _startup_failure(outcome, startup_s)
                for i in missing:
                    reports[i] = fail.with_(name=progs[i].name)
                break
            culprit = missing[0]
            reports[culprit] = _death_report(outcome, limits).with_(name=progs[culprit].name)
            pending = missing[1:]
            attempt += 1
    return [r for r in reports if r is not None]


@dataclass
class _Tracker:
    """Reads the child's progress files; gives the current candidate its own wall-clock deadline."""

    job_dir: Path
    wall_s: float | None
    startup_s: float
    started: float = 0.0
    current: tuple[int | None, bool] = (None, True)
    current_since: float = 0.0

    def __post_init__(self) -> None:
        self.started = self.current_since = time.monotonic()

    def ready(self) -> bool:
        return (self.job_dir / "ready.json").exists()

    def _read_current(self) -> tuple[int | None, bool]:
        try:
            data = json.loads((self.job_dir / "current.json").read_text())
            return int(data["index"]), bool(data.get("setup", False))
        except (OSError, ValueError, KeyError, TypeError):
            return None, True

    def in_setup(self) -> bool:
        """True while the child prepares (imports, sampling a task's transitions), not running a program."""
        return self._read_current()[1]

    def deadline(self) -> float | None:
        if not self.ready():
            return self.started + self.startup_s
        state = self._read_current()
        if state != self.current:
            self.current, self.current_since = state, time.monotonic()
        if state[1]:
            return self.current_since + self.startup_s
        return None if self.wall_s is None else self.current_since + self.wall_s


def _read_results(job_dir: Path, n: int) -> dict[int, CheckReport]:
    out: dict[int, CheckReport] = {}
    for j in range(n):
        path = job_dir / "results" / f"{j}.json"
        if path.exists():
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):  # torn file = no result
                out[j] = CheckReport.from_dict(json.loads(path.read_text(encoding="utf-8")))
    return out


def _death_report(outcome: ChildExit, limits: Limits) -> CheckReport:
    """Why the child died while it was checking this candidate."""
    tail = outcome.stderr_tail
    if outcome.timed_out:
        return CheckReport.failure(
            "timeout",
            f"the check took longer than {limits.wall_s:g} s (wall clock) and was stopped. Look for loops "
            "that never end (while loops, recursion, lax.while_loop) or computations that grow with a huge "
            "constant.",
            stage="probe",
        )
    if any(m in tail for m in MEMORY_MARKERS):
        return CheckReport.failure(
            "memory", f"the check ran out of memory (limit {limits.memory_mb} MB): the reward must not build "
            "large arrays or lists", stage="probe",
        )
    if outcome.signal == signal.SIGXCPU:
        msg = f"the check used more than {limits.cpu_s:g} s of CPU time and was stopped"
        return CheckReport.failure("timeout", msg, stage="probe")
    detail = last_line(tail)
    return CheckReport.failure(
        "crash",
        f"the checking process {outcome.describe()} while running this program"
        + (f": {detail}" if detail and outcome.signal is None else ""),
        stage="probe",
    )


def _startup_failure(outcome: ChildExit, startup_s: float) -> CheckReport:
    if outcome.timed_out:
        why = f"did not start within {startup_s:g} s"
    else:
        why = f"{outcome.describe()} before checking anything ({last_line(outcome.stderr_tail)})"
    msg = f"the probe process {why}; this is not the program's fault"
    return CheckReport.failure("crash", msg, stage="probe")


def _keep_transitions(job_dir: Path, shared: Path) -> None:
    """Move the child's freshly sampled transitions to the folder later children load them from."""
    for path in (job_dir / "transitions").glob("*.npz"):
        target = shared / path.name
        if not target.exists():
            shared.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)


def _new_job_dir(root: Path, attempt: int) -> Path:
    base = f"probe-{time.strftime('%Y%m%d-%H%M%S')}-{attempt:02d}"
    for k in range(1000):
        path = root / (base if k == 0 else f"{base}-{k}")
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a job folder under {root}")


@contextlib.contextmanager
def _workspace(workdir: str | Path | None) -> Iterator[Path]:
    if workdir is not None:
        path = Path(workdir)
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="rewardlab-probe-") as tmp:
        yield Path(tmp)
