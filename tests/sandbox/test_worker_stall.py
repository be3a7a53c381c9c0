"""The training worker's stall watchdog: defence in depth against a training that hangs for good.

A child that stops writing progress lines is killed, its batch retried once whole, then its candidates
alone. The children are real; the hang is the child's own test switch
(`REWARDLAB_TEST_HANG_AFTER_PROGRESS`), which makes it block forever after its first progress line the
way a hung XLA computation does, so the outcome does not depend on timing.
"""

from __future__ import annotations

import os
from pathlib import Path

from test_sandbox_worker import TASK, tiny_config

from rewardlab import tasks
from rewardlab.sandbox import WorkerEvent, train_in_worker
from rewardlab.sandbox._train_child import HANG_ENV
from rewardlab.sandbox.worker import STALL_GAP_FACTOR, STALL_MIN_S, _Watchdog, stall_limit
from rewardlab.types import RewardProgram

# --- the stall policy --------------------------------------------------------------------------------


def test_stall_limit_policy():
    assert STALL_MIN_S == 120.0 and STALL_GAP_FACTOR == 20.0
    assert stall_limit([]) == 120.0  # nothing known: the floor
    assert stall_limit([0.5, 2.0, 1.0]) == 120.0  # 20 x 2 s is under the floor
    assert stall_limit([3.0, 10.0]) == 200.0  # 20 x the longest gap
    assert stall_limit([], first_line_s=9.0) == 180.0  # compile + first chunk stands in for a gap
    assert stall_limit([1.0], first_line_s=60.0) == 120.0  # ...only until a real gap is known
    assert stall_limit([50.0], stall_s=0.25) == 0.25  # an explicit limit is used as it is
    assert stall_limit([50.0], stall_s=0) is None  # zero or negative: off
    assert stall_limit([50.0], stall_s=-1) is None


def test_watchdog_arms_at_the_first_line_and_tells_a_stall_from_a_timeout():
    dog = _Watchdog(wall_deadline=1000.0, stall_s=None, started=0.0)
    assert dog.deadline(now=50.0) == 1000.0, "no progress line yet: only the wall clock"
    dog.saw_line({"checkpoint": None}, now=10.0)  # first chunk (after compilation) at 10 s
    assert dog.deadline(now=11.0) == 10.0 + 20 * 10.0  # first_line_s stands in for the gap
    dog.saw_line({"checkpoint": None}, now=12.0)
    dog.saw_line({"checkpoint": 0}, now=13.0)  # a checkpoint line is progress but not a chunk
    assert dog.chunks == 2
    assert dog.deadline(now=14.0) == 13.0 + STALL_MIN_S
    assert dog.deadline(now=13.0 + STALL_MIN_S + 1) == 13.0 + STALL_MIN_S
    assert dog.cause == "stall"

    timed = _Watchdog(wall_deadline=30.0, stall_s=100.0, started=0.0)
    timed.saw_line({"checkpoint": None}, now=5.0)
    assert timed.deadline(now=31.0) == 30.0
    assert timed.cause == "timeout"

    off = _Watchdog(wall_deadline=None, stall_s=0, started=0.0)
    off.saw_line({"checkpoint": None}, now=5.0)
    assert off.deadline(now=1e9) is None


# --- the watchdog on real children -------------------------------------------------------------------


def _cache() -> str:
    return os.environ["REWARDLAB_JAX_CACHE"]  # tests/conftest.py: one compile cache per test session


def _train(tmp_path: Path, programs: list, events: list, **kw):
    """A tiny one-seed training in real workers, every worker event appended to `events`."""
    return train_in_worker(
        TASK, programs, tiny_config(), seeds=(0,), run_dir=tmp_path, timeout_s=600,
        jax_cache_dir=_cache(), on_event=events.append, **kw,
    )  # fmt: skip


def _dead(pid: int) -> bool:
    try:
        return "State:\tZ" in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True


STALLED = (
    "training stalled: no progress for 0.001 s after chunk 1 (likely an XLA CPU runtime hang); "
    "the process was killed"
)


def test_a_stalled_batch_is_retried_whole_then_each_candidate_alone(tmp_path, monkeypatch):
    monkeypatch.setenv(HANG_ENV, "1")  # every child hangs for good after its first progress line
    human = tasks.get(TASK).human
    programs = [RewardProgram("a", human.source, "llm"), RewardProgram("b", human.source, "llm")]
    events: list[WorkerEvent] = []
    results = _train(tmp_path, programs, events, stall_s=0.001)

    def attempt(names: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
        return [("started", names), ("progress", names), ("failed", names)]  # one line, then killed

    batch = ("a", "b")
    assert [(e.kind, e.candidates) for e in events] == [
        *attempt(batch),
        ("retry", batch),
        *attempt(batch),  # the same batch again, before any solo retry
        ("retry", batch),
        *attempt(("a",)),  # then each candidate alone, without a second stall retry
        *attempt(("b",)),
    ]
    retries = [e.message for e in events if e.kind == "retry"]
    assert retries == [
        f"{STALLED}; retrying the batch",
        f"batch worker {STALLED}; retrying each candidate alone",
    ]
    assert all(e.message == STALLED for e in events if e.kind == "failed")
    assert [(r.candidate, r.seed, r.status) for r in results] == [("a", 0, "error"), ("b", 0, "error")]
    for r in results:
        assert r.message == STALLED
        assert r.checkpoints == ()
    for pid in {e.pid for e in events if e.pid is not None}:
        assert _dead(pid), f"worker {pid} outlived train_in_worker"


def test_with_the_default_policy_a_healthy_batch_trains_normally(tmp_path):
    events: list[WorkerEvent] = []
    results = _train(tmp_path, [tasks.get(TASK).human], events)
    assert [r.status for r in results] == ["ok"], results[0].message
    assert len(results[0].checkpoints) == 1
    assert [e.kind for e in events if e.kind != "progress"] == ["started", "finished"]
    assert sum(e.kind == "progress" for e in events) >= 2
