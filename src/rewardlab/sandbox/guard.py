"""Hardening a sandbox child process from the inside: resource limits, an audit hook, atomic files.

Only child entry points (`_probe_child`, `_train_child`) call `harden` and `install_audit_hook`, each
before any candidate text is compiled. The limits are kernel-enforced (`setrlimit`), so they hold even
against code that escapes every Python-level guard; the audit hook (PEP 578) refuses process
creation, sockets, ctypes and file writes outside the job's folders for code that stays in Python.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from rewardlab.sandbox.errors import CpuTimeExceeded
from rewardlab.sandbox.report import Limits

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_PATH_EVENTS = {
    "os.remove", "os.unlink", "os.rename", "os.replace", "os.rmdir", "os.mkdir", "os.chmod", "os.chown",
    "os.truncate", "os.symlink", "os.link", "os.utime", "shutil.rmtree", "shutil.copyfile", "shutil.copytree",
    "shutil.move", "shutil.chown", "os.makedirs",
}
_BLOCKED_PREFIXES = ("socket.", "ctypes.", "subprocess.", "os.exec", "os.spawn", "os.posix_spawn", "pty.")
_BLOCKED_EVENTS = {
    "os.system", "os.fork", "os.forkpty", "os.kill", "os.killpg", "sys.addaudithook", "webbrowser.open",
    "os.startfile",
}


def harden(limits: Limits, file_size_mb: int = 256) -> None:
    """Apply the memory, file-size and core-dump limits for the rest of this process's life."""
    if limits.memory_mb is not None:
        data = int(limits.memory_mb) * 2**20
        resource.setrlimit(resource.RLIMIT_DATA, (data, data))
    size = file_size_mb * 2**20
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails with EFBIG instead of killing us


PARENT_ENV = "REWARDLAB_SANDBOX_PARENT"


def exit_with_parent() -> None:
    """Die as soon as the parent dies: a child nobody waits for must not keep a core busy.

    The parent's pid comes from the environment (set by `process.spawn`), so a parent that died
    while this process was still starting up is noticed too.
    """
    try:
        parent = int(os.environ[PARENT_ENV])
    except (KeyError, ValueError):
        parent = os.getppid()

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(70)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


class CpuBudget:
    """Per-candidate CPU-time budget in a child that checks several candidates one after another.

    RLIMIT_CPU counts the whole process, so each candidate's budget is armed as 'CPU used so far +
    budget'; the kernel's SIGXCPU then raises `CpuTimeExceeded` in Python code. Code stuck inside
    native code never sees the exception; the parent's wall-clock limit catches that case.
    """

    def __init__(self) -> None:
        signal.signal(signal.SIGXCPU, self._on_sigxcpu)
        self.budget: float | None = None
        self.active = False

    @staticmethod
    def used() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    def _on_sigxcpu(self, signum: int, frame: Any) -> None:
        if not self.active:  # a late signal after the candidate finished: nothing to interrupt
            return
        self.disarm()
        raise CpuTimeExceeded(f"{self.budget:g} s")

    def arm(self, seconds: float | None) -> None:
        self.budget = seconds
        if seconds is None:
            self.disarm()
            return
        soft = int(self.used() + seconds) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))
        self.active = True

    def disarm(self) -> None:
        self.active = False
        resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


SetRoots = Callable[[Iterable[str | os.PathLike]], None]
"""Replaces the folders an audited process may write in (returned by `install_audit_hook`)."""


def start_backends() -> None:
    """Start JAX's backends now, before `install_audit_hook`, if this process imported JAX.

    JAX starts its backends at the first computation, and its CUDA plugin then loads NVIDIA's shared
    libraries through `ctypes`, an event the audit hook refuses: the plugin would fail and JAX would go on
    with the CPU alone, a GPU training run silently on the processor. Starting them here, while the child
    still runs only trusted code, keeps the GPU and changes nothing on a CPU-only install.
    """
    if "jax" in sys.modules:
        import jax

        jax.devices()


def install_audit_hook(write_roots: Iterable[str | os.PathLike]) -> SetRoots:
    """Refuse, for the rest of this process's life, events no reward program has a reason to cause.

    Returns a function that replaces the folders writes are allowed in: a long-lived training child
    (`_train_child --serve`) narrows them to the current job's folder for each job. Reward programs
    never see that function (the restricted loader gives them no way to reach it).
    """

    def real(paths: Iterable[str | os.PathLike]) -> tuple[str, ...]:
        return (*(os.path.realpath(r) for r in paths), "/dev/null")

    roots = real(write_roots)

    def set_roots(paths: Iterable[str | os.PathLike]) -> None:
        nonlocal roots
        roots = real(paths)

    def allowed_path(path: Any) -> bool:
        if isinstance(path, int):
            return True  # an already-open descriptor
        try:
            real = os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            return False
        return any(real == r or real.startswith(r.rstrip("/") + "/") for r in roots)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event in _BLOCKED_EVENTS or event.startswith(_BLOCKED_PREFIXES):
            raise PermissionError(f"sandbox: {event} is not allowed")
        if event == "open":
            path, mode, flags = (*args, None, None, None)[:3]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS
            )
            if writing and not allowed_path(path):
                raise PermissionError("sandbox: writing files outside the run folder is not allowed")
        elif event in _PATH_EVENTS:
            paths = [a for a in args[:2] if isinstance(a, str | bytes | os.PathLike)]
            if not all(allowed_path(p) for p in paths):
                raise PermissionError(f"sandbox: {event} outside the run folder is not allowed")

    sys.addaudithook(hook)
    return set_roots


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    """Write JSON so that a reader sees either nothing or the whole file (tmp + fsync + os.replace).

    NaN is written as the `NaN` token (Python's json reads it back): training metrics can be NaN.
    """
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, p)


def read_json(path: str | os.PathLike) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)
