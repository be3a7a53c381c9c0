"""The isolated training worker: real training in a child, and survival when the child is killed."""

from __future__ import annotations

import dataclasses
import os
import signal
from pathlib import Path

import pytest

from rewardlab import tasks
from rewardlab.jax_cache import default_cache_dir
from rewardlab.sandbox import WorkerEvent, train_in_worker
from rewardlab.types import RewardProgram

TASK = "CartPole-v1"


def tiny_config():
    # A fraction of a second of training. The cost of each child is its imports and one XLA compile,
    # which a small network and one epoch of one minibatch roughly halve.
    return dataclasses.replace(
        tasks.get(TASK).ppo, total_timesteps=512, num_envs=4, num_steps=32, n_checkpoints=1, eval_episodes=1,
        update_epochs=1, num_minibatches=1, hidden=(8,),
    )


def _dead(pid: int) -> bool:
    try:
        return "State:\tZ" in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True


def _snapshot(paths: list[Path]) -> dict[Path, set[str]]:
    return {p: set(os.listdir(p)) if p.is_dir() else set() for p in paths}


def test_sigkilled_worker_is_survived_and_the_culprit_isolated(tmp_path, monkeypatch):
    """The batch worker is SIGKILLed; every candidate is retried alone; the victim is killed again.

    Every worker that holds the victim is killed as soon as it is started: the batch worker, then the
    victim's solo retry. (Killing the solo retry at its first progress report raced with the tiny
    training finishing first on an idle machine.) The other two candidates must get real results, the
    victim an error that says what happened, and nothing may be written outside the run folder.
    """
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    run_dir = tmp_path / "run"
    watched = [cwd, tmp_path, default_cache_dir().parent, Path.home()]
    before = _snapshot(watched)
    human = tasks.get(TASK).human
    programs = [
        RewardProgram("good_a", human.source, "llm"),
        RewardProgram("victim", human.source, "llm"),  # same code: the XLA compile is cached after good_a
        RewardProgram("good_b", human.source, "llm"),
    ]
    events: list[WorkerEvent] = []

    def on_event(event: WorkerEvent) -> None:
        events.append(event)
        if event.kind == "started" and "victim" in event.candidates:
            os.kill(event.pid, signal.SIGKILL)

    results = train_in_worker(TASK, programs, tiny_config(), seeds=(0, 1), run_dir=run_dir, timeout_s=300,
                              on_event=on_event)

    assert [(r.candidate, r.seed) for r in results] == [
        ("good_a", 0), ("good_a", 1), ("victim", 0), ("victim", 1), ("good_b", 0), ("good_b", 1)
    ]
    by_name = {}
    for r in results:
        by_name.setdefault(r.candidate, []).append(r)
    for name in ("good_a", "good_b"):
        for r in by_name[name]:
            assert r.status == "ok", r.message
            assert len(r.checkpoints) == 1
            assert r.env_steps > 0
    for r in by_name["victim"]:
        assert r.status == "error"
        assert r.message == "training process killed by signal 9 (SIGKILL)"
        assert r.checkpoints == ()

    kinds = [(e.kind, e.candidates) for e in events]
    assert kinds[0] == ("started", ("good_a", "victim", "good_b"))
    assert ("failed", ("good_a", "victim", "good_b")) in kinds
    assert ("retry", ("good_a", "victim", "good_b")) in kinds
    assert ("started", ("victim",)) in kinds, "the victim was retried alone"
    assert ("progress", ("victim",)) not in kinds, "the victim's solo run was killed before training"
    assert ("failed", ("victim",)) in kinds
    assert ("finished", ("good_a",)) in kinds and ("finished", ("good_b",)) in kinds
    for pid in {e.pid for e in events if e.pid is not None}:
        assert _dead(pid), f"worker {pid} outlived train_in_worker"

    after = _snapshot(watched)
    assert after[cwd] == before[cwd] == set()
    assert after[tmp_path] - before[tmp_path] == {"run"}
    for path in watched[2:]:
        assert after[path] == before[path], f"something was written to {path}"
    assert {p.name for p in run_dir.iterdir()} == {"worker", "jax_cache"}


def test_worker_timeout_and_static_rejections_are_results_not_exceptions(tmp_path):
    human = tasks.get(TASK).human
    programs = [
        RewardProgram("slow", human.source),
        RewardProgram("uses_os", "import os\n" + human.source),
    ]
    events: list[WorkerEvent] = []
    results = train_in_worker(TASK, programs, tiny_config(), seeds=(0,), run_dir=tmp_path, timeout_s=0.5,
                              on_event=events.append)
    slow, uses_os = results
    assert slow.status == "error"
    assert slow.message == "training timed out after 0.5 s (wall clock); the process was killed"
    assert uses_os.status == "error"
    assert uses_os.message.startswith("policy: line 1: importing `os` is not allowed")
    assert all(e.candidates == ("slow",) for e in events), "a rejected program never reaches a worker"


def test_a_run_folder_relative_to_the_working_directory_works(tmp_path, monkeypatch):
    """The CLI passes `runs/<name>`; the child runs inside its job folder, where that path would dangle."""
    monkeypatch.chdir(tmp_path)
    results = train_in_worker(TASK, [tasks.get(TASK).sparse], tiny_config(), seeds=(0,), run_dir="runs/rel",
                              timeout_s=600)
    assert [r.status for r in results] == ["ok"], results[0].message
    assert (tmp_path / "runs" / "rel" / "worker").is_dir()


def test_worker_rejects_ambiguous_batches(tmp_path):
    p = tasks.get(TASK).human
    with pytest.raises(ValueError, match="unique"):
        train_in_worker(TASK, [p, p], tiny_config(), run_dir=tmp_path)
    with pytest.raises(ValueError):
        train_in_worker(TASK, [], tiny_config(), run_dir=tmp_path)
    with pytest.raises(ValueError):
        train_in_worker(TASK, [p], tiny_config(), seeds=(), run_dir=tmp_path)


def test_user_task_from_a_file_trains_in_a_child(tmp_path):
    """The user's environment file lives outside the package; the child imports it from the reference.

    Trains the task's own baselines (the env reward as a 4-parameter program, and the success indicator
    that only exists as a callable, sent by role) plus an LLM-style program reading the env reward.
    Nothing is written next to the user's file. (Probing such a program: tests/search/test_user_env_search.)
    """
    from rewardlab.tasks.ref import resolve
    from user_env import dot_source, write_dot_env

    path = write_dot_env(tmp_path / "project", dot_source(tiny=True))
    task, ref = resolve(f"{path}:make_task", check=False)
    shaped = (
        "def compute_reward(state, action, next_state, env_reward):\n"
        "    progress = next_state.x - state.x\n"
        "    return env_reward + progress, {'env': env_reward, 'progress': progress}\n"
    )
    config = dataclasses.replace(
        task.ppo, total_timesteps=256, update_epochs=1, num_minibatches=1, hidden=(8,)
    )
    programs = [
        dataclasses.replace(task.human, name="human"),
        dataclasses.replace(task.sparse, name="sparse"),
        RewardProgram("shaped", shaped, "llm"),
    ]
    results = train_in_worker(ref, programs, config, seeds=(0,), run_dir=tmp_path / "run", timeout_s=300)
    assert [r.status for r in results] == ["ok", "ok", "ok"], [r.message for r in results]
    assert set(results[0].checkpoints[0].components) == {"env"}
    assert set(results[1].checkpoints[0].components) == {"success"}
    assert set(results[2].checkpoints[0].components) == {"env", "progress"}
    assert sorted(p.name for p in path.parent.iterdir()) == ["dot_env.py"]
