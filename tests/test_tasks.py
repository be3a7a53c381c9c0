"""Contract checks over every registered task, and human/sparse parity with the environments' own rewards."""

import jax
import numpy as np
import pytest

from rewardlab import tasks
from rewardlab.rewards.program import load_reward_fn
from rewardlab.tasks.check import TaskCheckError, check_task
from rewardlab.tasks.rollout import random_transitions

EXPECTED = {"CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1"}


def test_registry_lists_the_classic_suite():
    assert set(tasks.names()) >= EXPECTED


def test_unknown_task_suggests_close_names():
    with pytest.raises(KeyError, match="Did you mean CartPole-v1"):
        tasks.get("Cartpole-v1")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_check_task(name):
    check_task(tasks.get(name))


def test_check_task_catches_a_broken_task():
    import dataclasses

    task = tasks.get("CartPole-v1")
    broken = dataclasses.replace(task, state_doc={k: v for k, v in task.state_doc.items() if k != "theta"})
    with pytest.raises(TaskCheckError, match=r"missing \['theta'\]"):
        check_task(broken)
    nan_sparse = dataclasses.replace(
        task.sparse, source=task.sparse.source.replace("jnp.float32(1.0)", "jnp.float32(float('nan'))")
    )
    with pytest.raises(TaskCheckError, match="not finite"):
        check_task(dataclasses.replace(task, sparse=nan_sparse))


PI = float(np.pi)
# Uniform boxes over each state so parity covers goal, failure and limit transitions, which random
# rollouts from the start state rarely reach (Acrobot's goal, MountainCar's flag).
STATE_BOXES = {
    # pre-step states inside the failure limits: an episode never steps from a terminal state
    "CartPole-v1": {
        "x": (-2.39, 2.39),
        "x_dot": (-3.0, 3.0),
        "theta": (-0.209, 0.209),
        "theta_dot": (-3.0, 3.0),
    },
    "Acrobot-v1": {
        "joint_angle1": (-PI, PI),
        "joint_angle2": (-PI, PI),
        "velocity_1": (-4 * PI, 4 * PI),
        "velocity_2": (-9 * PI, 9 * PI),
    },
    "MountainCar-v0": {"position": (-1.2, 0.6), "velocity": (-0.07, 0.07)},
    "MountainCarContinuous-v0": {"position": (-1.2, 0.6), "velocity": (-0.07, 0.07)},
    "Pendulum-v1": {"theta": (-2 * PI, 2 * PI), "theta_dot": (-8.0, 8.0), "last_u": (-2.0, 2.0)},
}


def _box_transitions(name: str, n: int = 4096):
    """(state, action, next_state, env_reward) with states drawn uniformly from STATE_BOXES."""
    task = tasks.get(name)
    base = random_transitions(task, n_envs=1, n_steps=n, seed=2)
    keys = jax.random.split(jax.random.PRNGKey(3), len(STATE_BOXES[name]) + 1)
    fields = {
        k: jax.random.uniform(kk, (n,), minval=lo, maxval=hi)
        for kk, (k, (lo, hi)) in zip(keys, STATE_BOXES[name].items(), strict=False)
    }
    state = base.state.replace(**fields)
    out = jax.vmap(task.env.step)(jax.random.split(keys[-1], n), state, base.action)
    next_state, env_reward, term = out.state, out.env_reward, out.terminated
    return state, base.action, next_state, np.asarray(env_reward), np.asarray(term)


def _program_on(name, which, state, action, next_state):
    fn = load_reward_fn(tasks.get(name).baseline(which))
    total, comps = jax.jit(jax.vmap(fn))(state, action, next_state)
    return np.asarray(total), {k: np.asarray(v) for k, v in comps.items()}


# Where a built-in program is, by design, the environment's own reward, it must reproduce it exactly.
@pytest.mark.parametrize(
    ("name", "which", "parts"),
    [
        ("CartPole-v1", "sparse", None),
        ("Acrobot-v1", "human", None),
        ("Pendulum-v1", "human", None),
        ("MountainCar-v0", "human", ("step_cost",)),
        ("MountainCarContinuous-v0", "human", ("action_cost", "goal_bonus")),
    ],
)
def test_parity_with_environment_reward(name, which, parts):
    state, action, next_state, env_reward, term = _box_transitions(name)
    total, comps = _program_on(name, which, state, action, next_state)
    ours = total if parts is None else sum(comps[p] for p in parts)
    np.testing.assert_allclose(ours, env_reward, rtol=1e-5, atol=1e-4)
    if name != "Pendulum-v1":  # Pendulum never terminates; every other box must cover terminal steps
        assert term.any() and (~term).any()


def _rewards(name: str, which: str):
    task = tasks.get(name)
    tr = random_transitions(task, n_envs=8, n_steps=300, seed=1)
    total, comps = _program_on(name, which, tr.state, tr.action, tr.next_state)
    return tr, total, comps


def test_human_components_sum_to_total():
    for name in sorted(EXPECTED):
        _, total, comps = _rewards(name, "human")
        np.testing.assert_allclose(sum(comps.values()), total, rtol=1e-5, atol=1e-5, err_msg=name)


def test_sparse_is_the_fitness_signal_on_mountaincar():
    tr, total, _ = _rewards("MountainCar-v0", "sparse")
    reached = np.asarray(tr.next_state.position) >= 0.5
    np.testing.assert_array_equal(total, reached.astype(np.float32))
