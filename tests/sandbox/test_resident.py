"""The long-lived training child (`sandbox.resident`): batches share one process, train exactly as a
fresh child trains them, and a batch that kills it is survived by one-shot retries and a fresh child."""

from __future__ import annotations

import dataclasses
import os
import signal
from pathlib import Path

from rewardlab import tasks
from rewardlab.config import PPOConfig
from rewardlab.executors import Batch, LocalEvaluator
from rewardlab.sandbox import WorkerEvent, train_in_worker
from rewardlab.sandbox.resident import ResidentWorker
from rewardlab.tasks.ref import resolve
from rewardlab.types import RewardProgram

TASK = "CartPole-v1"


def tiny_config() -> PPOConfig:
    return dataclasses.replace(
        tasks.get(TASK).ppo, total_timesteps=512, num_envs=4, num_steps=32, n_checkpoints=1, eval_episodes=1,
        update_epochs=1, num_minibatches=1, hidden=(8,),
    )


# Every child of these tests compiles into the session's cache (tests/conftest.py), and every batch has
# two runs (a lone run is padded to two), so all of them share one set of compiled programs.
CACHE = os.environ["REWARDLAB_JAX_CACHE"]


def _dead(pid: int) -> bool:
    try:
        return "State:\tZ" in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True


def _fitness(results) -> dict[tuple[str, int], tuple[float, ...]]:
    return {(r.candidate, r.seed): tuple(c.fitness for c in r.checkpoints) for r in results}


def test_batches_share_one_child_and_train_as_a_fresh_child_does(tmp_path):
    task = tasks.get(TASK)
    _, ref = resolve(TASK)
    cfg = tiny_config()
    first = Batch(ref, (RewardProgram("a", task.human.source, "llm"),), cfg, (0, 1), 300.0, CACHE)
    pair = (RewardProgram("b", task.sparse.source, "llm"), RewardProgram("c", task.human.source, "llm"))
    second = Batch(ref, pair, cfg, (0,), 300.0, CACHE)
    events: list[WorkerEvent] = []
    evaluator = LocalEvaluator(tmp_path / "run")
    try:
        outcomes = dict(evaluator.run([first, second], on_event=events.append))
        worker = evaluator._worker
        assert worker is not None and worker.starts == 1 and worker.jobs == 2
    finally:
        evaluator.close()
    started = [e for e in events if e.kind == "started"]
    assert [e.candidates for e in started] == [("a",), ("b", "c")]
    assert all(e.info.get("resident") for e in started)
    pid = started[0].pid
    assert pid is not None and started[1].pid == pid, "the second batch ran in the first batch's process"
    assert _dead(pid), "close() ended the resident child"
    assert all(r.status == "ok" for o in outcomes.values() for r in o.results)
    # each run says which processor trained it (on a GPU machine: the GPU, not a silent CPU fallback)
    assert {r.extra["device"] for o in outcomes.values() for r in o.results} == {"cpu"}

    # The same batch in a fresh one-shot child gives the same numbers, checkpoint by checkpoint.
    fresh = train_in_worker(ref, list(pair), cfg, (0,), tmp_path / "fresh", 300, jax_cache_dir=CACHE)
    assert _fitness(fresh) == _fitness(outcomes[1].results)
    assert {p.name for p in (tmp_path / "run" / "worker").iterdir()} == {"resident-000", "job-000", "job-001"}
    assert not (tmp_path / "run" / "jax_cache").exists()


def test_a_killed_resident_is_survived_by_one_shot_retries_and_replaced(tmp_path):
    """The resident child is SIGKILLed when the batch holding `victim` starts: its partners get results
    from one-shot solo retries, the victim (killed again in its solo child) an error, and the next batch
    starts a fresh resident child."""
    human = tasks.get(TASK).human
    _, ref = resolve(TASK)
    resident = ResidentWorker(tmp_path / "run" / "worker")
    events: list[WorkerEvent] = []

    def on_event(event: WorkerEvent) -> None:
        events.append(event)
        if event.kind == "started" and "victim" in event.candidates and event.pid is not None:
            os.kill(event.pid, signal.SIGKILL)

    def train(programs: list[RewardProgram]):
        return train_in_worker(ref, programs, tiny_config(), (0,), tmp_path / "run", 300, jax_cache_dir=CACHE,
                               on_event=on_event, resident=resident)

    try:
        hit = train([RewardProgram(name, human.source, "llm") for name in ("good", "victim")])
        after = train([RewardProgram("later", human.source, "llm")])
        assert resident.starts == 2
    finally:
        resident.close()
    good, victim = hit
    assert good.status == "ok", good.message
    assert (victim.status, victim.message) == ("error", "training process killed by signal 9 (SIGKILL)")
    assert after[0].status == "ok", after[0].message
    started = [e for e in events if e.kind == "started"]
    assert [(e.candidates, bool(e.info.get("resident"))) for e in started] == [
        (("good", "victim"), True),  # the resident child, killed
        (("good",), False),  # one-shot retries
        (("victim",), False),
        (("later",), True),  # a fresh resident child
    ]
    assert started[0].pid != started[3].pid
    assert all(_dead(e.pid) for e in started if e.pid is not None)
