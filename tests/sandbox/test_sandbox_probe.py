"""The probe's parent side: how child deaths become reports, and that nothing hangs.

The behaviour on real candidates (timeouts, memory, restarts after a kill) is covered by the corpus
test; these tests pin the parent's bookkeeping with synthetic outcomes and one child that cannot
start in time.
"""

from __future__ import annotations

import json
import signal
import time

from rewardlab.sandbox import Limits, probe_many
from rewardlab.sandbox.probe import _death_report, _read_results, _Tracker
from rewardlab.sandbox.process import ChildExit

LIMITS = Limits(wall_s=5.0, cpu_s=5.0, memory_mb=1024)


def _exit(returncode: int, timed_out: bool = False, stderr: str = "") -> ChildExit:
    return ChildExit(returncode, timed_out, 1.0, 0.5, stderr)


def test_deaths_are_classified():
    cases = [
        (_exit(-signal.SIGKILL, timed_out=True), "timeout", "longer than 5 s"),
        (_exit(-signal.SIGABRT, stderr="terminate called after std::bad_alloc"), "memory", "out of memory"),
        (_exit(1, stderr="Traceback...\nMemoryError"), "memory", "1024 MB"),
        (_exit(-signal.SIGXCPU), "timeout", "CPU time"),
        (_exit(-signal.SIGSEGV), "crash", "killed by signal 11 (SIGSEGV)"),
        (_exit(-signal.SIGKILL), "crash", "killed by signal 9 (SIGKILL)"),
        (_exit(3, stderr="something\nRuntimeError: boom /work/main/x.py"), "crash", "exited with code 3"),
    ]
    for outcome, kind, text in cases:
        report = _death_report(outcome, LIMITS)
        assert report.kind == kind, (outcome, report)
        assert text in report.message
        assert report.stage == "probe"


def test_torn_or_forged_result_files_count_as_missing(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "0.json").write_text(json.dumps({"ok": True, "name": "a", "stage": "probe"}))
    (results / "1.json").write_text('{"ok": tru')
    (results / "2.json").write_text(json.dumps({"ok": False, "kind": "not-a-kind"}))
    got = _read_results(tmp_path, 3)
    assert set(got) == {0}


def test_tracker_gives_each_candidate_its_own_wall_clock(tmp_path):
    tracker = _Tracker(tmp_path, wall_s=2.0, startup_s=100.0)
    assert tracker.deadline() == tracker.started + 100.0  # not ready yet: startup allowance
    (tmp_path / "ready.json").write_text("{}")
    (tmp_path / "current.json").write_text(json.dumps({"index": 0, "setup": True}))
    d_setup = tracker.deadline()
    assert d_setup >= time.monotonic() + 90
    (tmp_path / "current.json").write_text(json.dumps({"index": 0}))
    d0 = tracker.deadline()
    assert d0 <= time.monotonic() + 2.0
    time.sleep(0.05)
    assert tracker.deadline() == d0  # same candidate, same deadline
    (tmp_path / "current.json").write_text(json.dumps({"index": 1}))
    assert tracker.deadline() > d0  # the next candidate starts a fresh budget


def test_a_child_that_cannot_start_fails_every_pending_program_without_hanging(tmp_path):
    good = "import jax.numpy as jnp\n\ndef compute_reward(state, action, next_state):\n    return 1.0, {}\n"
    bad = "import os\n" + good
    t0 = time.monotonic()
    reports = probe_many("CartPole-v1", [good, bad, good], LIMITS, tmp_path, startup_s=0.2)
    assert time.monotonic() - t0 < 30
    assert [r.kind for r in reports] == ["crash", "policy", "crash"]
    assert "did not start within 0.2 s" in reports[0].message
    assert "not the program's fault" in reports[0].message
    assert [r.name for r in reports] == ["candidate_0", "candidate_1", "candidate_2"]
