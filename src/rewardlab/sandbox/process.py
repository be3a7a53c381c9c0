"""Starting and watching a sandbox child process from the parent.

A child is a fresh interpreter (`python -m rewardlab.sandbox._xxx_child JOB_DIR`) in its own session,
so the parent can kill it and anything it started as one process group. It gets a scrubbed
environment (no API keys; HOME, TMPDIR and caches inside the job folder) and writes its stdout and
stderr to files in the job folder. Results travel as JSON files; the parent reads stderr only to
explain a death, never to find results.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import rewardlab
from rewardlab.sandbox.guard import PARENT_ENV

SECRET_PATTERN = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH|COOKIE|SESSION", re.IGNORECASE)
POLL_S = 0.05
MEMORY_MARKERS = ("MemoryError", "RESOURCE_EXHAUSTED", "Out of memory", "bad_alloc", "Cannot allocate memory")


@dataclass(frozen=True)
class ChildExit:
    """How a child process ended."""

    returncode: int
    timed_out: bool  # the parent killed it for a wall-clock limit
    wall_s: float
    cpu_s: float
    stderr_tail: str

    @property
    def signal(self) -> int | None:
        return -self.returncode if self.returncode < 0 else None

    def describe(self) -> str:
        """'killed by signal 9 (SIGKILL)', 'exited with code 1', ..."""
        if self.signal is not None:
            try:
                name = signal.Signals(self.signal).name
            except ValueError:
                name = "unknown signal"
            return f"killed by signal {self.signal} ({name})"
        return f"exited with code {self.returncode}"


def child_env(job_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The parent's environment without secrets, with every per-user location moved into `job_dir`."""
    env = {k: v for k, v in os.environ.items() if not SECRET_PATTERN.search(k)}
    for k in list(env):
        if k.startswith(("PYTHON", "OPENAI", "ANTHROPIC", "AWS_", "GOOGLE_", "AZURE_", "HF_")):
            del env[k]
    home = job_dir / "home"
    tmp = job_dir / "tmp"
    for d in (home, tmp):
        d.mkdir(parents=True, exist_ok=True)
    src_root = str(Path(rewardlab.__file__).resolve().parent.parent)
    env.update({
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "MPLCONFIGDIR": str(tmp),
        "PYTHONPATH": src_root,  # the same rewardlab as the parent's, wherever it came from
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "MALLOC_ARENA_MAX": "2",
        "REWARDLAB_JAX_CACHE": "0",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        PARENT_ENV: str(os.getpid()),
    })
    env.update(extra or {})
    return env


def spawn(
    module: str,
    job_dir: Path,
    extra_env: Mapping[str, str] | None = None,
    *,
    flags: tuple[str, ...] = (),
    stdin_pipe: bool = False,
) -> subprocess.Popen:
    """Start `python -m module [flags] job_dir` in its own session with cwd = job_dir.

    The path is made absolute first: the child runs inside job_dir, so a relative path (a run folder
    given as `runs/...`) would no longer point at the job from there. `stdin_pipe` gives the parent a
    pipe to the child's stdin (a long-lived child reads its jobs from it); otherwise stdin is empty.
    """
    job_dir = Path(job_dir).resolve()
    out = open(job_dir / "stdout.txt", "wb")  # noqa: SIM115 (handed to the child, closed below)
    err = open(job_dir / "stderr.txt", "wb")  # noqa: SIM115
    try:
        return subprocess.Popen(
            [sys.executable, "-B", "-s", "-P", "-m", module, *flags, str(job_dir)],
            cwd=job_dir,
            env=child_env(job_dir, extra_env),
            stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        out.close()
        err.close()


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the child's whole process group (it leads its own session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def watch(
    proc: subprocess.Popen,
    job_dir: Path,
    deadline: Callable[[], float | None],
    on_poll: Callable[[], None] | None = None,
) -> ChildExit:
    """Wait for `proc`, killing its group once `deadline()` (a time.monotonic value) has passed.

    `deadline` is asked again at every poll, so a caller can move it (a probe gives each candidate
    its own wall-clock budget). The parent never raises out of here with the child alive.
    """
    outcome = watch_until(proc, job_dir, deadline, on_poll)
    assert outcome is not None
    return outcome


def watch_until(
    proc: subprocess.Popen,
    job_dir: Path,
    deadline: Callable[[], float | None],
    on_poll: Callable[[], None] | None = None,
    done: Callable[[], bool] | None = None,
) -> ChildExit | None:
    """`watch`, for a child that outlives its work: None as soon as `done()` is true with the child alive.

    A long-lived child (`sandbox.resident`) finishes a job without exiting: `done` says when. If the
    child exits or is killed first, its `ChildExit` comes back as from `watch`. `job_dir` is where the
    child's stderr.txt is (for the message about a death).
    """
    t0 = time.monotonic()
    timed_out = False
    try:
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                cpu = usage.ru_utime + usage.ru_stime
                break
            if on_poll is not None:
                on_poll()
            if done is not None and not timed_out and done():
                return None
            limit = deadline()
            if limit is not None and time.monotonic() > limit and not timed_out:
                timed_out = True
                kill_group(proc)
            time.sleep(POLL_S)
    except BaseException:
        kill_group(proc)
        proc.wait()
        raise
    kill_group(proc)  # anything the child left behind in its group
    return ChildExit(proc.returncode, timed_out, time.monotonic() - t0, cpu, stderr_tail(job_dir))


_PATHS = re.compile(r"(?:/[\w.\-+~@]+){2,}")


def stderr_tail(job_dir: Path, max_bytes: int = 4000) -> str:
    """The end of the child's stderr with machine paths removed (for messages about deaths)."""
    path = job_dir / "stderr.txt"
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - max_bytes))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return _PATHS.sub("<path>", text)


def last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""
