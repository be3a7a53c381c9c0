"""A user's own environment, in a folder outside the package, through every command by subprocess.

`tasks --show`, `check`, `train` and a small LLM-free `search` on `FILE.py:make_task`; the search is
SIGKILLed while a training child (which imports the user's file) runs and resumed: nothing is lost and
nothing trained twice. The same environment through the scripted LLM backend: the prompt holds the
environment's code and its state fields, never its reward expression.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from run_watch import events as read_events
from run_watch import kill_when, trained_once, training
from user_env import REWARD_EXPRESSION, dot_source, write_dot_env

pytestmark = pytest.mark.slow

PROGRESS_REWARD = """\
import jax.numpy as jnp


def compute_reward(state, action, next_state, env_reward):
    progress = 5.0 * (next_state.x - state.x)
    return env_reward + progress, {"env": env_reward, "progress": progress}
"""

SCRIPTED_REPLY = """Here is a reward:
```python
import jax.numpy as jnp

def compute_reward(state, action, next_state, env_reward):
    closeness = -jnp.abs(1.0 - next_state.x)
    return closeness + env_reward, {"closeness": closeness, "env": env_reward}
```
"""


def _cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "rewardlab.cli", *args]


def _run(*args: str, timeout: float = 400) -> subprocess.CompletedProcess:
    return subprocess.run(_cmd(*args), capture_output=True, text=True, timeout=timeout, check=False)


def _search_args(ref: str, out: Path) -> list[str]:
    """2 candidates x 2 iterations, no confirmation, 1 final seed: the smallest search with every stage
    that trains in a child (the tiny environment: 16-step episodes)."""
    return [
        "search", ref,
        *("--samples", "2", "--iterations", "2", "--final-seeds", "1", "--confirm-top", "0"),
        *("--timesteps", "512", "--checkpoints", "1", "--eval-episodes", "2"),
        *("--out", str(out), "--set", f"jax_cache_dir={os.environ['REWARDLAB_JAX_CACHE']}"),
    ]


@pytest.fixture(scope="module")
def env_file(tmp_path_factory) -> Path:
    return write_dot_env(tmp_path_factory.mktemp("project"), dot_source(tiny=True))


def test_tasks_check_and_train_on_a_file_reference(env_file, tmp_path):
    ref = f"{env_file}:make_task"
    show = _run("tasks", "--show", ref)
    assert show.returncode == 0, show.stderr
    for text in ("Dot-v0", "position of the dot on the line", "int: one of 3 discrete actions",
                 "reach a success state", "512 per candidate in a search", "env_reward"):
        assert text in show.stdout, text
    reward = tmp_path / "progress.py"
    reward.write_text(PROGRESS_REWARD)
    check = _run("check", ref, str(reward))
    assert check.returncode == 0 and "OK" in check.stdout, check.stdout + check.stderr
    train = _run("train", ref, "--reward", "human", "--reward", "sparse", "--reward", str(reward),
                 "--seeds", "1", "--steps", "512", "--no-progress")
    assert train.returncode == 0, train.stderr[-2000:]
    for name in ("Dot-v0:human", "Dot-v0:sparse", "progress"):
        assert name in train.stdout
    bad = _run("train", f"{env_file}:make_tsk")
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0
    assert "has no attribute 'make_tsk'; did you mean make_task" in bad.stderr
    assert sorted(p.name for p in env_file.parent.iterdir()) == ["dot_env.py"]


def test_llm_free_search_killed_in_training_and_resumed(env_file, tmp_path):
    out = tmp_path / "runs"
    proc = subprocess.Popen(_cmd(*_search_args(f"{env_file}:make_task", out)), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    # SIGKILL while iteration 1's batch trains in a child that imported the user's file
    run_dir = kill_when(proc, out, "Dot-v0-*", training("r0-i1-"),
                        "the search never reached iteration 1's training", timeout_s=500)
    assert json.loads((run_dir / "task.json").read_text())["path"] == str(env_file)
    resumed = _run("resume", str(run_dir), timeout=600)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-3000:]
    assert "human-normalised score" in resumed.stdout
    events = read_events(run_dir)
    trained = trained_once(events)  # trained, or recovered from a batch delivered just before the kill
    assert set(trained) == {f"r0-i{i}-c{c}" for i in range(2) for c in range(2)}
    assert max(trained.values()) == 1, trained  # nothing trained twice
    assert [e["event"] for e in events].count("resumed") == 1
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "finished" and (run_dir / "report.html").exists()
    assert set(summary["final"]["table"]) == {"method", "human", "sparse"}
    assert all(row["failed"] == 0 for row in summary["final"]["table"].values())
    assert sorted(p.name for p in env_file.parent.iterdir()) == ["dot_env.py"]
    # the env-reward baseline's one constant only scales the whole reward, a no-op under the task's
    # reward normalisation: the proposer's first child adds a term instead of perturbing it
    child = json.loads((run_dir / "iter_000" / "cand_001" / "candidate.json").read_text())
    assert child["note"].startswith("add:"), child["note"]


def test_scripted_llm_sees_the_environment_without_its_reward(env_file, tmp_path):
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps([SCRIPTED_REPLY] * 2))
    out = tmp_path / "runs"
    proc = _run("search", f"{env_file}:make_task", "--llm", f"scripted:{replies}",
                *("--samples", "1", "--iterations", "1", "--final-seeds", "0", "--confirm-top", "0"),
                *("--timesteps", "256", "--checkpoints", "1", "--eval-episodes", "2", "--out", str(out)),
                "--set", f"jax_cache_dir={os.environ['REWARDLAB_JAX_CACHE']}")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    run_dir = next(out.glob("Dot-v0-*"))
    prompt = json.loads(next(run_dir.glob("**/cand_000/prompt.json")).read_text())
    text = json.dumps(prompt)
    for needed in ("class DotEnv", "def step_env", "def distance", "gap < 0.1",
                   "position of the dot on the line", "reach a success state", "Dot-v0"):
        assert needed in text, needed
    assert REWARD_EXPRESSION not in text and "jnp.square(v)" not in text
    assert "def make_task" not in text and "from_gymnax" not in text
    check = json.loads(next(run_dir.glob("**/cand_000/check.json")).read_text())
    assert check["ok"] and check["stage"] == "probe"  # LLM code is probed in the sandbox
    result = json.loads(next(run_dir.glob("**/cand_000/result.json")).read_text())
    assert [r["status"] for r in result["results"]] == ["ok"]
    assert set(result["results"][0]["checkpoints"][0]["components"]) == {"closeness", "env"}
