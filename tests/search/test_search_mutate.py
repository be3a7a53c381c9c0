"""The LLM-free proposer: which constants it touches, its operators, determinism, validity."""

from __future__ import annotations

import ast
import random

from rewardlab import tasks
from rewardlab.sandbox import check_static
from rewardlab.search import mutate

CARTPOLE = tasks.get("CartPole-v1").human.source
PENDULUM = tasks.get("Pendulum-v1").human.source


def _tunable_values(src: str) -> list[float]:
    return sorted(c.value for c in mutate.tunable_constants(ast.parse(src)))


def test_tunable_constants_skip_thresholds_bounds_and_log_only_terms():
    # CartPole: 2.4 and the 12-degree limit are comparisons; the -2.0 and 0.0 in the components dict do
    # not feed the total (the total's -2.0 does); the integers 12, 2, 360 are never touched.
    assert _tunable_values(CARTPOLE) == [0.005, 0.01, 1.0, 2.0]
    # Pendulum: clip bounds -2.0/2.0 and the exponent 2 are excluded; the weights are tunable
    assert _tunable_values(PENDULUM) == [0.001, 0.1]


def test_terms_are_component_names_that_feed_the_total():
    assert mutate.terms(CARTPOLE) == ["angle_penalty", "cart_velocity_penalty", "pole_velocity_penalty"]
    assert mutate.terms(PENDULUM) == ["angle_cost", "torque_cost", "velocity_cost"]


def test_perturb_changes_only_tunable_constants():
    src, note = mutate.perturb(CARTPOLE, random.Random(1), 0.5)
    assert "perturbed" in note
    assert "2.4" in src and "12 * 2 * jnp.pi / 360" in src
    assert src != ast.unparse(ast.parse(CARTPOLE))


def test_reweight_and_drop_wrap_a_term():
    src, note = mutate.reweight(PENDULUM, random.Random(0), 0.5)
    name = note.split()[2]
    assert (f"{name} = " in src and "* (" in src) or "* " in src
    src, note = mutate.drop(PENDULUM, random.Random(0), 0.5)
    assert "0.0 * " in src and note.startswith("dropped term")


def test_crossover_takes_assignments_from_the_second_parent():
    other = PENDULUM.replace("0.1 * state.theta_dot**2", "0.7 * state.theta_dot**2")
    for seed in range(10):
        made = mutate.crossover(PENDULUM, other, random.Random(seed))
        if made is not None:
            assert "0.7" in made[0] and "velocity_cost" in made[1]
            return
    raise AssertionError("crossover never took the differing assignment in 10 seeds")


def test_mutate_batch_is_deterministic_valid_and_deduplicated():
    parents = [("a", CARTPOLE, 400.0), ("b", CARTPOLE.replace("0.01 *", "0.02 *"), 300.0)]
    seen1: set[str] = {mutate.normalize(CARTPOLE)}
    seen2: set[str] = {mutate.normalize(CARTPOLE)}
    one = mutate.mutate_batch(parents, 12, random.Random("x"), seen1)
    two = mutate.mutate_batch(parents, 12, random.Random("x"), seen2)
    assert [c.source for c in one] == [c.source for c in two]
    assert len(one) == 12
    assert len({mutate.normalize(c.source) for c in one}) == 12
    assert mutate.normalize(CARTPOLE) not in {mutate.normalize(c.source) for c in one}
    assert all(check_static(c.source).ok for c in one)
    assert {c.operator for c in one} <= set(mutate.OPERATORS)


def test_mutated_programs_stay_programs_for_every_task():
    for name in tasks.names():
        src = tasks.get(name).human.source
        kids = mutate.mutate_batch([("h", src, 0.0)], 6, random.Random(0), set())
        assert kids, name
        assert all(check_static(k.source).ok for k in kids), name
