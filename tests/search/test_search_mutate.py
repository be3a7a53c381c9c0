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


# adding shaping terms ------------------------------------------------------------------------------------
def _features(name: str):
    from rewardlab.search import shaping

    return shaping.features_for(tasks.get(name))


def test_feature_library_uses_float_state_fields_only():
    import dataclasses

    import numpy as np

    from rewardlab.search import shaping

    @dataclasses.dataclass
    class S:
        angle: np.ndarray
        steps: np.ndarray
        frozen: np.ndarray

    rng = np.random.default_rng(0)
    a = S(rng.normal(size=64).astype(np.float32), np.arange(64), np.zeros(64, np.float32))
    b = S(a.angle + 0.1, a.steps + 1, a.frozen)
    feats = shaping.features_from_states(a, b)
    assert {f.field for f in feats} == {"angle"}  # int counter and constant field left out
    assert {f.transform for f in feats} == set(shaping.TRANSFORMS)
    assert {f.form for f in feats} == set(shaping.FORMS)
    assert all(f.spread > 0 for f in feats)
    # CartPole's step counter is an int: never a feature
    assert {f.field for f in _features("CartPole-v1")} == {"x", "x_dot", "theta", "theta_dot"}


def test_added_term_is_a_weighted_component_of_the_total_and_computes_what_it_says():
    import jax
    import numpy as np

    from rewardlab.rewards.program import load_reward_fn
    from rewardlab.tasks.rollout import random_transitions
    from rewardlab.types import RewardProgram

    feats = [f for f in _features("Pendulum-v1") if f.name == "at_cos_theta"]
    src, note = mutate.add(PENDULUM, random.Random(3), feats, magnitude=2.0)
    assert note.startswith("added term at_cos_theta")
    assert check_static(src).ok
    assert "at_cos_theta" in mutate.terms(src)  # so reweight / drop can act on it
    w = float(src.split("at_cos_theta = ")[1].split(" *")[0])
    assert any(c.value == abs(w) for c in mutate.tunable_constants(ast.parse(src)))  # perturb can tune it
    # its size: 3 % to 100 % of the parent's per-step magnitude, relative to the feature's spread
    assert 10**-1.5 * 0.99 <= abs(w) * feats[0].spread / 2.0 <= 1.01
    fn = load_reward_fn(RewardProgram("child", src))
    base = load_reward_fn(RewardProgram("human", PENDULUM))
    tr = random_transitions(tasks.get("Pendulum-v1"), n_envs=2, n_steps=8)
    total, comps = jax.vmap(fn)(tr.state, tr.action, tr.next_state)
    base_total, _ = jax.vmap(base)(tr.state, tr.action, tr.next_state)
    expected = w * np.cos(np.asarray(tr.next_state.theta))
    np.testing.assert_allclose(np.asarray(comps["at_cos_theta"]), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(total), np.asarray(base_total) + expected, rtol=1e-5, atol=1e-5)


def test_progress_terms_are_potential_differences():
    feats = [f for f in _features("CartPole-v1") if f.name == "to_abs_x"]
    src, _ = mutate.add(CARTPOLE, random.Random(0), feats, magnitude=1.0)
    line = next(ln for ln in src.splitlines() if ln.strip().startswith("to_abs_x ="))
    assert "jnp.abs(next_state.x)" in line and "jnp.abs(state.x)" in line and " - " in line


def test_crossover_grafts_a_term_only_the_second_parent_has():
    feats = [f for f in _features("Pendulum-v1") if f.name == "at_cos_theta"]
    with_term, _ = mutate.add(PENDULUM, random.Random(0), feats, magnitude=1.0)
    for seed in range(20):
        made = mutate.crossover(PENDULUM, with_term, random.Random(seed))
        if made is not None and "grafted" in made[1]:
            assert "at_cos_theta" in mutate.terms(made[0]) and check_static(made[0]).ok
            return
    raise AssertionError("crossover never grafted the second parent's term in 20 seeds")


def test_add_operator_only_runs_with_a_feature_library():
    parents = [mutate.Parent("h", PENDULUM, 0.5, 3.0)]
    with_lib = mutate.mutate_batch(parents, 30, random.Random(1), set(), features=_features("Pendulum-v1"))
    without = mutate.mutate_batch(parents, 30, random.Random(1), set())
    assert any(c.operator == "add" for c in with_lib)
    assert not any(c.operator == "add" for c in without)
    assert all(check_static(c.source).ok for c in with_lib)


def test_every_added_term_is_followed_by_its_opposite_sign_twin():
    parents = [mutate.Parent("h", PENDULUM, 0.5, 3.0)]
    kids = mutate.mutate_batch(parents, 40, random.Random(2), set(), features=_features("Pendulum-v1"))
    twins = [i for i, c in enumerate(kids) if c.note.endswith("(sign twin)")]
    assert twins
    for i in twins:
        first, twin = kids[i - 1], kids[i]
        assert first.operator == twin.operator == "add"
        name = first.note.split("added term ")[1].split(" = ")[0]
        w1 = first.note.split(" = ")[1].split(" *")[0]
        w2 = twin.note.split(" = ")[1].split(" *")[0]
        assert twin.note.startswith(f"added term {name} = ") and float(w1) == -float(w2)
