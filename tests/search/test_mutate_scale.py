"""Under reward normalisation a child that only rescales the whole reward is the same reward: with
`scale_free` the LLM-free proposer never spends a candidate on one."""

from __future__ import annotations

import ast
import random

from rewardlab import tasks
from rewardlab.search import mutate
from rewardlab.tasks.builder import ENV_REWARD_SOURCE

SCALED = """
import jax.numpy as jnp

def compute_reward(state, action, next_state):
    dist = jnp.abs(next_state.x - 0.5)
    speed = 0.1 * jnp.abs(next_state.x_dot)
    total = -(2.0 * (dist + speed))
    return total, {"dist": dist, "speed": speed}
"""


def _fn(source: str) -> ast.FunctionDef:
    return mutate._function(ast.parse(source))


def test_whole_scale_finds_factors_of_the_total_only():
    consts, names = mutate.whole_scale(_fn(ENV_REWARD_SOURCE))
    assert [c.value for c in consts] == [1.0] and {"total", "env"} <= names
    consts, names = mutate.whole_scale(_fn(SCALED))
    assert [c.value for c in consts] == [2.0] and "dist" not in names  # a sum ends the product chain
    assert mutate.whole_scale(_fn(tasks.get("Pendulum-v1").human.source))[0] == []


def test_scale_free_perturb_and_reweight_leave_relative_weights_to_change():
    assert mutate.perturb(ENV_REWARD_SOURCE, random.Random(0), 0.5) is not None
    assert mutate.perturb(ENV_REWARD_SOURCE, random.Random(0), 0.5, scale_free=True) is None
    assert mutate.reweight(ENV_REWARD_SOURCE, random.Random(0), 0.5, scale_free=True) is None
    tunable = [c.value for c in mutate.tunable_constants(ast.parse(SCALED), scale_free=True)]
    assert 2.0 not in tunable and 0.1 in tunable  # 0.5 sits in a subtraction inside abs: also tunable
    for seed in range(20):
        made = mutate.reweight(SCALED, random.Random(seed), 0.5, scale_free=True)
        assert made is not None and "reweighted term" in made[1]  # dist and speed are relative weights


def test_scale_free_batch_of_an_env_reward_only_adds_terms():
    from rewardlab.search.shaping import Feature

    features = (
        Feature(field="x", transform="abs", form="level", scale=1.0, spread=1.0),
        Feature(field="x", transform="square", form="progress", scale=1.0, spread=1.0),
    )
    parent = mutate.Parent("init", ENV_REWARD_SOURCE, 0.5, 1.0)
    free = mutate.mutate_batch([parent], 8, random.Random(0), set(), features=features, scale_free=True)
    assert free and all(c.operator == "add" for c in free)
    plain = mutate.mutate_batch([parent], 8, random.Random(0), set(), features=features)
    assert any(c.operator in ("perturb", "reweight") for c in plain)
