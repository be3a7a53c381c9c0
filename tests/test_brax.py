"""The Brax/MJX locomotion tasks: registration without brax, the contract check, human == the environment's
own reward on random transitions (terminal ones included), the reward-free context, and one smoke training.

Each Brax environment compiles for minutes on a loaded CPU (times in docs/tasks.md), so every test of a
task reuses the same random rollout (JAX's persistent cache serves `check_task`'s identical rollout
program) and the smoke training runs one task once per module. Only the first test runs without brax.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
import re
import sys

import jax
import numpy as np
import pytest

from rewardlab import tasks
from rewardlab.rewards.program import load_reward_fn, transition_fn

NAMES = ("Ant-Brax", "Hopper-Brax", "Humanoid-Brax")
# check_task's random rollout, shortened: random robots fall within a few hundred steps, so episodes end
N_ENVS, N_STEPS = 4, 300
needs_brax = pytest.mark.skipif(importlib.util.find_spec("brax") is None, reason='needs "rewardlab[brax]"')
# Each robot's physics compiles for minutes on a 2-core CPU (cold: Ant 250 s, Hopper 140 s, Humanoid 207 s),
# far beyond the suite's time budget, so `make test` checks Hopper (the smoke training's robot) and the
# other two run when REWARDLAB_BRAX_ALL=1 is set: `REWARDLAB_BRAX_ALL=1 pytest tests/test_brax.py`.
ALL_ROBOTS = os.environ.get("REWARDLAB_BRAX_ALL") == "1"
CHECKED = [
    n if n == "Hopper-Brax" or ALL_ROBOTS
    else pytest.param(n, marks=pytest.mark.skip(reason="set REWARDLAB_BRAX_ALL=1 (minutes of compile)"))
    for n in NAMES
]


def test_tasks_register_without_brax_and_say_how_to_install_it(monkeypatch):
    from rewardlab.tasks import brax as brax_tasks

    assert set(NAMES) <= set(tasks.names())
    monkeypatch.setitem(sys.modules, "brax", None)  # `import brax` now fails as if it were not installed
    with pytest.raises(ImportError, match=re.escape('pip install "rewardlab[brax]"')):
        brax_tasks.ant()


@needs_brax
def test_tasks_command_lists_them_as_gpu_tasks():
    """In a fresh process, where importing MuJoCo MJX used to print "Failed to import warp" twice."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "rewardlab.cli", "tasks"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    listing = done.stdout
    assert "Failed to import" not in listing + done.stderr
    for name in NAMES:
        row = next(ln for ln in listing.splitlines() if ln.startswith(name))
        assert " GPU " in row and "10,000,000" in row and "forward distance" in row


@functools.cache
def _rollout(name: str):
    from rewardlab.tasks.rollout import random_transitions

    return random_transitions(tasks.get(name), N_ENVS, N_STEPS)


@needs_brax
@pytest.mark.slow  # minutes of compiling per robot on a loaded CPU
@pytest.mark.parametrize("name", CHECKED)
def test_task_passes_check_task_and_human_is_the_env_reward(name):
    from rewardlab.tasks.check import check_task

    task = tasks.get(name)
    check_task(task, n_envs=N_ENVS, n_steps=N_STEPS)
    tr = _rollout(name)
    assert np.all(np.isfinite(np.asarray(tr.env_reward))), "the mjx backend must stay finite"
    term = np.asarray(tr.terminated)
    assert term.any(), "random robots should fall within the rollout"
    human = jax.jit(jax.vmap(transition_fn(load_reward_fn(task.human))))
    total, comps = human(tr.state, tr.action, tr.next_state, tr.env_reward)
    np.testing.assert_allclose(np.asarray(total), np.asarray(tr.env_reward), rtol=1e-4, atol=1e-4)
    assert set(comps) == {"forward", "healthy", "ctrl_cost"}
    sparse = jax.jit(jax.vmap(transition_fn(load_reward_fn(task.sparse))))
    progress, _ = sparse(tr.state, tr.action, tr.next_state, tr.env_reward)
    weight = 1.25 if name == "Humanoid-Brax" else 1.0  # Humanoid's reward weighs the velocity by 1.25
    forward = np.asarray(comps["forward"])
    np.testing.assert_allclose(np.asarray(progress) * weight, forward, rtol=1e-4, atol=1e-3)
    # the fitness is the distance the tracked point moved: the sum of the steps' displacements
    signals = jax.vmap(task.episode_signals)(tr.state, tr.action, tr.next_state, tr.terminated)
    np.testing.assert_allclose(
        np.asarray(signals["forward_distance"]), np.asarray(progress) * task.env.dt, rtol=1e-4, atol=1e-5
    )
    # the rollout recorded the slim view rewards see, not the carried physics state
    assert type(tr.next_state).__name__ == "BraxState" and "pipeline_state" not in tr.next_state._fields
    view = tr.next_state
    np.testing.assert_array_equal(np.asarray(view.body_pos[:, 0]), np.asarray(view.torso_pos))


@needs_brax
@pytest.mark.parametrize("name", NAMES)
def test_context_is_the_env_source_without_its_reward(name):
    task = tasks.get(name)
    text = task.context
    code = text.split("```python\n", 1)[1].split("\n```", 1)[0]
    assert not re.search(r"reward(?!lab)|cost", code, re.I), "the reward is left in the code"
    assert "def step(self, state" in code and "self.pipeline_step(" in code and "is_healthy" in code
    assert "def _view(" in code  # how the fields a reward reads come off the physics state
    for field, doc in task.state_doc.items():
        assert f"`{field}`: {doc}" in text
    # the documented shapes are the view's (traced, not compiled)
    _, carried = jax.eval_shape(task.env.reset, jax.random.PRNGKey(0))
    view = jax.eval_shape(task.env.reward_state, carried)
    assert tuple(task.state_doc) == view._fields
    for field, doc in task.state_doc.items():
        shape = re.match(r"(?:float|int)(?:\[([\d, ]+)\])?", doc)
        assert shape, f"{field}: {doc}"
        want = tuple(int(d) for d in shape.group(1).split(",")) if shape.group(1) else ()
        assert getattr(view, field).shape == want, field
    assert task.env.kind == "brax" and task.practical_on == "GPU"


# --- one smoke training (compiled once per module) -------------------------------------------------------

SMOKE_TASK = "Hopper-Brax"


@pytest.fixture(scope="module")
def smoke():
    from rewardlab.engines import ppo_jax
    from rewardlab.tasks.brax import CPU_PPO

    task = tasks.get(SMOKE_TASK)
    results = ppo_jax.train(task, [task.human, task.sparse], CPU_PPO, seeds=(0,))
    return task, results


@needs_brax
@pytest.mark.slow
def test_smoke_training_runs_and_records_the_env_reward(smoke):
    from rewardlab.tasks.brax import CPU_PPO

    task, results = smoke
    assert [r.status for r in results] == ["ok", "ok"], [r.message for r in results]
    human, sparse = results
    for res in results:
        assert res.env_steps == CPU_PPO.total_timesteps and len(res.checkpoints) == 2
        for cp in res.checkpoints:
            assert math.isfinite(cp.fitness) and math.isfinite(cp.env_return)
            assert 0 < cp.episode_length <= task.env.max_episode_steps
            assert set(cp.eval_metrics) >= {"forward_distance", "forward_velocity", "episode_length"}
    # the human reward is the environment's: the two returns of its training episodes agree
    for cp in human.checkpoints:
        assert cp.reward_return == pytest.approx(cp.env_return, rel=1e-3, abs=1e-3)
        assert set(cp.components) == {"forward", "healthy", "ctrl_cost"}
    assert set(sparse.checkpoints[-1].components) == {"forward"}

