"""The XLand-MiniGrid tasks: the adapter against xminigrid's own step, the human shaping on hand-built
grids with answers worked out by hand, the context, and the contract check."""

from __future__ import annotations

import functools
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("xminigrid")

from xminigrid.core.constants import TILES_REGISTRY, Colors, Tiles
from xminigrid.core.grid import room, vertical_line

from rewardlab import tasks
from rewardlab.rewards.program import load_reward_fn, transition_fn

DOORKEY = "DoorKey-8x8-XLand"
FORWARD, PICK_UP = 0, 3
UP, RIGHT = 0, 1


def _grid(door: int = Tiles.DOOR_LOCKED, key: bool = True) -> jax.Array:
    """8x8 room, a wall down column 4 with a door at (2, 4), the key at (1, 1), the goal at (6, 6)."""
    grid = room(8, 8)
    grid = vertical_line(grid, 4, 0, 8, tile=TILES_REGISTRY[Tiles.WALL, Colors.GREY])
    grid = grid.at[2, 4].set(TILES_REGISTRY[door, Colors.YELLOW])
    if key:
        grid = grid.at[1, 1].set(TILES_REGISTRY[Tiles.KEY, Colors.YELLOW])
    return grid.at[6, 6].set(TILES_REGISTRY[Tiles.GOAL, Colors.GREEN])


def _state(grid, position, direction, pocket=(0, 0), step_num=0):
    task = tasks.get(DOORKEY)
    _, state = task.env.reset(jax.random.PRNGKey(0))
    agent = state.agent.replace(
        position=jnp.asarray(position, state.agent.position.dtype),
        direction=jnp.asarray(direction, state.agent.direction.dtype),
        pocket=jnp.asarray(pocket, state.agent.pocket.dtype),
    )
    return state.replace(grid=grid, agent=agent, step_num=jnp.asarray(step_num, state.step_num.dtype))


@functools.cache
def _stepper():
    """One compiled program: the environment's step and both baselines' rewards (xminigrid's step is
    slow op by op, and each compile of it costs tens of seconds on a loaded CPU)."""
    task = tasks.get(DOORKEY)
    fns = {w: transition_fn(load_reward_fn(task.baseline(w))) for w in ("human", "sparse")}

    def run(state, action):
        out = task.env.step(jax.random.PRNGKey(1), state, action)
        return out, {w: fn(state, action, out.state, out.env_reward) for w, fn in fns.items()}

    return jax.jit(run)


def _rewards(which, state, action):
    out, rewards = _stepper()(state, jnp.int32(action))
    total, comps = rewards[which]
    return out, float(total), {k: float(v) for k, v in comps.items()}


def test_doorkey_shaping_by_hand():
    # potential = stage - manhattan(agent, target) / (8 + 8); shaping = 0.5 * change
    s = _state(_grid(), (3, 1), UP)  # stage 0, key 2 away: 0 - 2/16 = -0.125
    out, total, comps = _rewards("human", s, FORWARD)  # to (2, 1), key 1 away: -0.0625
    assert tuple(np.asarray(out.state.agent.position)) == (2, 1)
    assert comps == {"success": 0.0, "progress": 0.03125} and total == 0.03125

    out, total, comps = _rewards("human", out.state, PICK_UP)  # key in pocket: 1 - 3/16 (door at (2, 4))
    assert int(out.state.agent.pocket[0]) == Tiles.KEY
    assert comps["progress"] == 0.5 * (0.8125 - -0.0625)

    # door open, one step from the goal, 63 steps taken: the environment pays 1 - 0.9 * 64 / 640 = 0.91
    s = _state(_grid(door=Tiles.DOOR_OPEN, key=False), (6, 5), RIGHT, pocket=(Tiles.KEY, Colors.YELLOW),
               step_num=63)
    out, total, comps = _rewards("human", s, FORWARD)  # stage 2: 2 - 1/16 -> 2
    assert bool(out.terminated) and not bool(out.truncated)
    assert comps["success"] == pytest.approx(0.91, abs=1e-6)
    assert comps["progress"] == 0.03125
    assert total == pytest.approx(0.94125, abs=1e-6)
    _, sparse_total, sparse = _rewards("sparse", s, FORWARD)
    assert sparse == {"success": pytest.approx(0.91, abs=1e-6)} and sparse_total == sparse["success"]


def test_adapter_matches_xminigrid_step():
    """The adapter's next state, observation and reward are xminigrid's own for a batch of random steps."""
    import xminigrid
    from xminigrid.types import StepType

    task = tasks.get(DOORKEY)
    env, params = xminigrid.make("MiniGrid-DoorKey-8x8")

    @jax.jit
    def both(keys, actions):
        ts = jax.vmap(env.reset, in_axes=(None, 0))(params, keys)
        theirs = jax.vmap(env.step, in_axes=(None, 0, 0))(params, ts, actions)
        return theirs, jax.vmap(task.env.step)(keys, ts.state, actions)

    theirs, ours = both(jax.random.split(jax.random.PRNGKey(3), 16), jax.random.randint(
        jax.random.PRNGKey(4), (16,), 0, 6))
    np.testing.assert_array_equal(np.asarray(ours.obs), np.asarray(theirs.observation))
    np.testing.assert_array_equal(np.asarray(ours.state.grid), np.asarray(theirs.state.grid))
    np.testing.assert_array_equal(np.asarray(ours.env_reward), np.asarray(theirs.reward))
    np.testing.assert_array_equal(np.asarray(ours.terminated), np.asarray(theirs.step_type == StepType.LAST))


def test_contexts_show_the_dynamics_without_the_reward():
    from rewardlab.tasks.context import CODE_FENCE

    for name, generator in ((DOORKEY, "class DoorKey"), ("UnlockPickUp-XLand", "class UnlockPickUp")):
        text = tasks.get(name).context
        code = text.split(CODE_FENCE, 1)[1].split("```", 1)[0]
        for part in (generator, "def take_action", "def step(self", "class AgentState", "DOOR_LOCKED"):
            assert part in code, part
        assert not re.search("reward", code, re.IGNORECASE), [ln for ln in code.splitlines() if "eward" in ln]
        assert "1.0 - 0.9 * (new_state.step_num / params.max_steps)" not in code  # the environment's reward
        assert "terminated = check_goal(" in code  # the end of an episode stays: it is dynamics
        for field in tasks.get(name).state_doc:
            assert f"`{field}`" in text


@pytest.mark.slow
def test_xland_tasks_pass_check_task():
    from rewardlab.tasks.check import check_task

    for name in (DOORKEY, "DoorKey-16x16-XLand", "UnlockPickUp-XLand"):
        check_task(tasks.get(name))
