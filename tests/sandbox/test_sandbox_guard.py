"""Hardening of child processes: audit hook, resource limits, CPU budget, scrubbed environment, kills.

Audit hooks cannot be removed once installed, so each hook test runs in its own short-lived Python
process (no JAX import: the guard module does not need it).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rewardlab.sandbox.process import ChildExit, child_env, watch

PY = sys.executable


def _run(script: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "-c", textwrap.dedent(script), *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


def _dead(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "State:\tZ" in status


def test_audit_hook_refuses_writes_outside_roots_processes_and_sockets(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside.txt"
    (root / "link").symlink_to(outside)  # a link inside the root that points out of it
    script = """
        import json, os, sys
        from rewardlab.sandbox.guard import install_audit_hook
        root, outside = sys.argv[1], sys.argv[2]
        install_audit_hook([root])
        res = {}
        def attempt(name, fn):
            try:
                fn()
                res[name] = "ok"
            except PermissionError:
                res[name] = "blocked"
        attempt("write_inside", lambda: open(os.path.join(root, "a.txt"), "w").write("x"))
        attempt("mkdir_inside", lambda: os.mkdir(os.path.join(root, "d")))
        attempt("read_anywhere", lambda: open(sys.executable, "rb").read(1))
        attempt("devnull", lambda: open(os.devnull, "w").write("x"))
        attempt("write_outside", lambda: open(outside, "w").write("x"))
        attempt("append_outside", lambda: open(outside, "a").write("x"))
        attempt("os_open_outside", lambda: os.close(os.open(outside, os.O_WRONLY | os.O_CREAT)))
        attempt("write_through_link", lambda: open(os.path.join(root, "link"), "w").write("x"))
        attempt("rename_out", lambda: os.rename(os.path.join(root, "a.txt"), outside))
        attempt("remove_outside", lambda: os.remove(outside))
        attempt("subprocess", lambda: __import__("subprocess").run(["true"]))
        attempt("os_system", lambda: os.system("true"))
        attempt("fork", lambda: os._exit(0) if os.fork() == 0 else None)
        attempt("socket", lambda: __import__("socket").socket())
        attempt("ctypes", lambda: __import__("ctypes").CDLL(None))
        attempt("kill", lambda: os.kill(os.getpid(), 0))
        print(json.dumps(res))
    """
    proc = _run(script, str(root), str(outside))
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    allowed = {"write_inside", "mkdir_inside", "read_anywhere", "devnull"}
    assert {k for k, v in res.items() if v == "ok"} == allowed, res
    assert not outside.exists()


def test_audit_hook_roots_can_be_narrowed_job_by_job(tmp_path):
    """A long-lived training child lets each job write only in its own folder (`set_roots`)."""
    jobs = [tmp_path / "job-0", tmp_path / "job-1"]
    for j in jobs:
        j.mkdir()
    script = """
        import json, os, sys
        from rewardlab.sandbox.guard import install_audit_hook
        a, b = sys.argv[1], sys.argv[2]
        set_roots = install_audit_hook([])
        res = {}
        def attempt(name, path):
            try:
                open(os.path.join(path, name), "w").write("x")
                res[name] = "ok"
            except PermissionError:
                res[name] = "blocked"
        attempt("none_yet", a)
        set_roots([a])
        attempt("own_job", a)
        attempt("next_job", b)
        set_roots([b])
        attempt("earlier_job", a)
        attempt("own_job_2", b)
        print(json.dumps(res))
    """
    proc = _run(script, *map(str, jobs))
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    blocked = {"none_yet", "next_job", "earlier_job"}
    assert res == {k: "blocked" if k in blocked else "ok" for k in [*blocked, "own_job", "own_job_2"]}


def test_memory_and_file_size_limits(tmp_path):
    script = """
        import json, os, sys
        from rewardlab.sandbox.guard import harden
        from rewardlab.sandbox.report import Limits
        harden(Limits(memory_mb=256), file_size_mb=1)
        res = {}
        try:
            block = bytearray(600 * 2**20)
            res["alloc"] = "ok"
        except MemoryError:
            res["alloc"] = "memory"
        try:
            with open(os.path.join(sys.argv[1], "big"), "wb") as fh:
                fh.write(b"x" * (3 * 2**20))
            res["write"] = "ok"
        except OSError as exc:
            res["write"] = exc.__class__.__name__
        print(json.dumps(res))
    """
    proc = _run(script, str(tmp_path))
    assert proc.returncode == 0, proc.stderr  # not killed by SIGXFSZ
    assert json.loads(proc.stdout) == {"alloc": "memory", "write": "OSError"}


def test_cpu_budget_interrupts_python_loops_and_can_be_rearmed():
    script = """
        import json
        from rewardlab.sandbox.errors import CpuTimeExceeded
        from rewardlab.sandbox.guard import CpuBudget
        budget = CpuBudget()
        out = []
        for _ in range(2):
            budget.arm(1)
            try:
                while True:
                    pass
            except CpuTimeExceeded as exc:
                out.append(str(exc))
            finally:
                budget.disarm()
        print(json.dumps(out))
    """
    proc = _run(script, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == ["1 s", "1 s"]


def test_child_dies_with_its_parent():
    script = """
        import os, subprocess, sys
        code = "from rewardlab.sandbox.guard import exit_with_parent as e; import time; e(); time.sleep(60)"
        env = {**os.environ, "REWARDLAB_SANDBOX_PARENT": str(os.getpid())}
        child = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        print(child.pid)
    """
    proc = _run(script)
    pid = int(proc.stdout.strip())
    deadline = time.monotonic() + 20
    while not _dead(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if not _dead(pid):
        os.kill(pid, signal.SIGKILL)
        pytest.fail("orphaned child kept running")


def test_child_environment_has_no_secrets_and_stays_in_the_job_folder(tmp_path, monkeypatch):
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "MY_SERVICE_TOKEN", "DB_PASSWORD", "HF_TOKEN",
                 "AWS_ACCESS_KEY_ID", "GITHUB_SECRET", "PYTHONSTARTUP"):
        monkeypatch.setenv(name, "leak")
    monkeypatch.setenv("SOME_SETTING", "kept")
    env = child_env(tmp_path)
    assert "leak" not in env.values()
    assert env["SOME_SETTING"] == "kept"
    for name in ("HOME", "TMPDIR", "XDG_CACHE_HOME", "MPLCONFIGDIR"):
        assert Path(env[name]).is_relative_to(tmp_path)
    assert env["REWARDLAB_JAX_CACHE"] == "0"


def test_watch_kills_the_whole_process_group_at_the_deadline(tmp_path):
    grandchild = tmp_path / "grandchild.pid"
    code = (
        "import subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(grandchild)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([PY, "-c", code], start_new_session=True, cwd=tmp_path)
    while not grandchild.exists() or not grandchild.read_text():
        time.sleep(0.05)
    t0 = time.monotonic()
    outcome = watch(proc, tmp_path, lambda: t0 + 0.3)
    assert isinstance(outcome, ChildExit)
    assert outcome.timed_out and outcome.signal == signal.SIGKILL
    assert outcome.describe() == "killed by signal 9 (SIGKILL)"
    gpid = int(grandchild.read_text())
    deadline = time.monotonic() + 10
    while not _dead(gpid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _dead(gpid), "the child's own child survived the kill"


def test_parent_side_imports_no_jax():
    """The static check and the process supervision stay cheap: importing them does not import JAX."""
    proc = _run("import sys, rewardlab.sandbox, rewardlab.sandbox.cli; print('jax' in sys.modules)")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
