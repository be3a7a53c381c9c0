"""Crafting-v0 (tasks/crafting.py): the tech tree on hand-built worlds, captions, the scripted goals.

Every world here is drawn by hand, so each expected inventory, achievement and reward is worked out from
the rules in the module docstring, not read from the code.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rewardlab.tasks import crafting as C


@pytest.fixture(scope="module")
def step():
    env = C.CraftingWorld()
    fn = jax.jit(lambda s, a: env.step_env(jax.random.PRNGKey(0), s, a, env.default_params))

    def run(state, *actions):
        rewards = []
        for a in actions:
            _, state, r, term, _ = fn(state, jnp.int32(C.ACTIONS.index(a)))
            rewards.append(float(r))
            assert not bool(term)
        return state, rewards

    return run


def world(**tiles) -> C.EnvState:
    """All grass, the agent at (4, 4) facing down, with `name=(row, col)` tiles placed."""
    w = np.zeros((C.GRID, C.GRID), np.int32)
    for name, cells in tiles.items():
        for cell in cells if isinstance(cells[0], tuple) else [cells]:
            w[cell] = C.TILES.index(name)
    return C.EnvState(
        world=jnp.asarray(w),
        pos=jnp.asarray([4, 4], jnp.int32),
        facing=jnp.int32(3),
        inventory=jnp.zeros(len(C.ITEMS), jnp.int32),
        achievements=jnp.zeros(len(C.ACHIEVEMENTS), bool),
        time=0,
    )


def inv(state) -> dict[str, int]:
    return {n: int(v) for n, v in zip(C.ITEMS, np.asarray(state.inventory), strict=True) if v}


def unlocked(state) -> list[str]:
    return [n for n, v in zip(C.ACHIEVEMENTS, np.asarray(state.achievements), strict=True) if v]


def host(state):
    return jax.tree.map(np.asarray, state)


def test_wood_table_pickaxe_stone_in_order(step):
    s = world(tree=(4, 5), stone=(5, 3))
    # turn right (the tree blocks the step), chop twice: the first unlocks collect_wood, the second pays 0
    s, r = step(s, "right", "do", "do")
    assert r == [0, 1, 0] and inv(s) == {"wood": 2} and unlocked(s) == ["collect_wood"]
    assert np.asarray(s.pos).tolist() == [4, 4] and int(s.facing) == 1
    # step down onto grass, place a table below (1 wood), craft a pickaxe next to it (1 wood)
    s, r = step(s, "down", "place_table", "make_wood_pickaxe", "make_wood_sword")
    assert np.asarray(s.pos).tolist() == [5, 4] and int(s.world[6, 4]) == C.TABLE
    assert r == [0, 1, 1, 0]  # no wood left for the sword
    assert inv(s) == {"wood_pickaxe": 1}
    # face the stone on the left and mine it: the tile becomes grass
    s, r = step(s, "left", "do")
    assert r == [0, 1] and inv(s) == {"stone": 1, "wood_pickaxe": 1} and int(s.world[5, 3]) == C.GRASS
    # place it back on the faced grass tile
    s, r = step(s, "place_stone")
    assert r == [1] and int(s.world[5, 3]) == C.STONE and inv(s) == {"wood_pickaxe": 1}
    assert unlocked(s) == ["collect_wood", "place_table", "make_wood_pickaxe", "collect_stone", "place_stone"]
    assert int(s.time) == 10


def test_tools_gate_mining_and_crafting_needs_a_table(step):
    s = world(stone=(5, 4), coal=(3, 4), iron=(4, 3))
    s, r = step(s, "do", "up", "do", "left", "do")  # stone, coal, iron without any pickaxe
    assert r == [0, 0, 0, 0, 0] and inv(s) == {}
    s = s.replace(inventory=s.inventory.at[C.WOOD].set(3).at[C.WOOD_PICKAXE].set(1))
    s, r = step(s, "make_wood_sword", "do")  # no table nearby: nothing; the iron still needs a stone pickaxe
    assert r == [0, 0] and inv(s) == {"wood": 3, "wood_pickaxe": 1}
    s, r = step(s, "up", "do")  # the coal above: a wood pickaxe is enough
    assert r == [0, 1] and inv(s) == {"wood": 3, "coal": 1, "wood_pickaxe": 1}


def test_iron_pickaxe_needs_table_and_furnace(step):
    s = world(table=(3, 3), iron=(4, 5))
    s = s.replace(inventory=jnp.asarray([3, 2, 1, 0, 0, 0, 1, 0, 0], jnp.int32))  # + a stone pickaxe
    s, r = step(s, "right", "do", "make_iron_pickaxe")  # mine the iron; no furnace yet
    assert r == [0, 1, 0] and inv(s)["iron"] == 1
    s, r = step(s, "down", "place_furnace")  # at (5, 4) the table at (3, 3) is out of reach
    assert r == [0, 0] and int(s.world[6, 4]) == C.GRASS
    s, r = step(s, "up", "place_furnace", "make_iron_pickaxe")  # back at (4, 4): the table is diagonal
    assert r == [0, 1, 1] and int(s.world[3, 4]) == C.FURNACE
    assert inv(s) == {"wood": 2, "stone": 1, "stone_pickaxe": 1, "iron_pickaxe": 1}
    assert unlocked(s) == ["place_furnace", "collect_iron", "make_iron_pickaxe"]


def test_captions_of_states_and_transitions(step):
    s = world(tree=(4, 5), water=((2, 4), (2, 5)), stone=(0, 0))
    assert C.caption(host(s)) == "You see a tree and water. You have nothing."  # (0, 0) is out of view
    s2, _ = step(s, "right")
    assert C.caption(host(s), 1, host(s2)) == ""  # turning does nothing worth saying
    s3, _ = step(s2, "do")
    assert C.caption(host(s2), 5, host(s3)) == "You collected wood."
    s4, _ = step(s3, "down", "place_table")
    before, _ = step(s3, "down")
    assert C.caption(host(before), 7, host(s4)) == "You placed a table."
    s5, _ = step(s4, "make_wood_sword")
    # from (5, 4) the water in row 2 is out of view
    assert C.caption(host(s4)) == "You see a tree and a table. You have nothing. You are next to a table."
    assert C.caption(host(s4), 12, host(s5)) == ""  # no wood left: the sword was not made
    w = s3.replace(inventory=s3.inventory.at[C.WOOD_PICKAXE].set(1).at[C.STONE_I].set(2))
    assert C.caption(host(w)) == "You see a tree and water. You have 1 wood, 2 stone and a wood pickaxe."


def test_scripted_goals_follow_the_tech_tree():
    assert C.suggest_goals("You see a tree and water. You have nothing.") == ["collect wood", "drink water"]
    assert "place a table" in C.suggest_goals("You see only grass. You have 1 wood.")
    near = C.suggest_goals("You see a table. You have 2 wood and 1 stone. You are next to a table.")
    assert near[:2] == ["make a wood pickaxe", "make a wood sword"] and "make a stone pickaxe" in near
    assert "collect stone" not in C.suggest_goals("You see stone. You have nothing.")  # no pickaxe yet
    assert "collect stone" in C.suggest_goals("You see stone. You have a wood pickaxe.")
    iron = "You see a table and a furnace. You have 1 wood, 1 coal, 1 iron and a stone pickaxe. You are next "
    assert "make an iron pickaxe" in C.suggest_goals(iron + "to a table and a furnace.")
