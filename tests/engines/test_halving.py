"""Successive halving inside one batch (`engines.halving`, `ppo_jax.train(..., halving=...)`).

Real CartPole trainings: four rewards that differ clearly (the human reward, its negation, zero, and the
+1 alive signal), two seeds each, trained once with halving after checkpoints 1 and 2 of 4 and once
without. The survivors must be the candidates the rule picks from the un-halved checkpoints, every run's
checkpoints must equal the un-halved run's up to where it stopped (all of them for the winner, which
continues on the gathered runner in batches of 4 and then 2 runs), and each result must say how many
env steps it really used.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from rewardlab import tasks
from rewardlab.engines import ppo_jax
from rewardlab.engines.halving import Halving
from rewardlab.types import RewardProgram

CARTPOLE = tasks.get("CartPole-v1")
CFG = dataclasses.replace(CARTPOLE.ppo, total_timesteps=8192, n_checkpoints=4, eval_episodes=4)
SEEDS = [0, 1]
RUNG = Halving(after=(1, 2), keep=0.5)

NEGATED = """
def compute_reward(state, action, next_state):
    total, comps = human(state, action, next_state)
    return -total, {"negated": -total}
"""
ZERO = """
import jax.numpy as jnp

def compute_reward(state, action, next_state):
    return jnp.float32(0.0), {"zero": jnp.float32(0.0)}
"""


def _programs() -> list[RewardProgram]:
    human = CARTPOLE.human.source
    negated = human.replace("def compute_reward(", "def human(") + NEGATED
    return [
        RewardProgram("human", human),
        RewardProgram("negated", negated),
        RewardProgram("zero", ZERO),
        RewardProgram("alive", CARTPOLE.sparse.source),
    ]


@pytest.fixture(scope="module")
def both():
    """(results with halving, results without), same batch, seeds and config."""
    progs = _programs()
    return (
        ppo_jax.train(CARTPOLE, progs, CFG, seeds=SEEDS, halving=RUNG),
        ppo_jax.train(CARTPOLE, progs, CFG, seeds=SEEDS),
    )


def _strip(cps):
    return [dataclasses.replace(c, seconds=0.0) for c in cps]


def _rule(full, names, upto):
    """The candidates the rule keeps, by hand: mean over seeds of the best fitness of checkpoints 1..upto."""
    score = {
        n: sum(max(c.fitness for c in r.checkpoints[:upto]) for r in full if r.candidate == n) / len(SEEDS)
        for n in names
    }
    ranked = sorted(names, key=lambda n: (-score[n], names.index(n)))
    return set(ranked[: math.ceil(len(names) / 2)])


@pytest.mark.slow
def test_survivors_are_the_better_half_and_trajectories_match(both):
    halved, full = both
    names = [p.name for p in _programs()]
    after_1 = _rule(full, names, 1)
    after_2 = _rule(full, sorted(after_1, key=names.index), 2)
    assert "negated" not in after_1 and len(after_2) == 1  # the clear difference is seen
    steps_per_cp = CFG.num_updates // CFG.n_checkpoints * CFG.batch_size
    total = CFG.num_updates * CFG.batch_size
    for h, f in zip(halved, full, strict=True):
        assert (h.candidate, h.seed) == (f.candidate, f.seed) and h.status == f.status == "ok"
        reached = 4 if h.candidate in after_2 else 2 if h.candidate in after_1 else 1
        assert len(h.checkpoints) == reached
        assert _strip(h.checkpoints) == _strip(f.checkpoints[:reached])  # same run up to its drop
        assert h.env_steps == reached * steps_per_cp
        assert h.extra["halving"] == {"after": [1, 2], "keep": 0.5} and h.extra["budget_steps"] == total
        if reached < 4:
            assert h.extra["halved_at"] == reached * steps_per_cp
            assert "stopped by successive halving" in h.message and "not a finished training" in h.message
        else:
            assert "halved_at" not in h.extra and h.message == "" and h.env_steps == total
        assert "halving" not in f.extra and "halved_at" not in f.extra and f.env_steps == total
    used = sum(r.env_steps for r in halved)
    assert used == sum(r.env_steps for r in full) * RUNG.cost(4, 4) / 4


def test_the_rule_ranks_by_mean_over_seeds_and_costs_add_up():
    best = {0: [1.0, 9.0], 1: [6.0, 5.0], 2: [float("nan"), 100.0], 3: [4.0, 4.0]}
    assert Halving((1,), 0.5).survivors(best) == (0, 1)  # means 5.0, 5.5; a NaN seed sinks candidate 2
    assert Halving((1,), 0.25).survivors(best) == (1,)
    assert Halving((1,), 0.5).survivors({3: [1.0], 5: [1.0], 4: [0.0]}) == (3, 5)  # ties: earlier first
    assert Halving((1,), 0.5).survivors({7: [2.0]}) == (7,)
    assert Halving((2, 5)).cost(8, 10) == pytest.approx(0.2 * 8 + 0.3 * 4 + 0.5 * 2)
    assert Halving.default(10) == Halving((2, 5)) and Halving.default(2) == Halving((1,))
    assert Halving.default(1).after == ()
    assert Halving.from_dict(Halving((1, 3), 0.25).to_dict()) == Halving((1, 3), 0.25)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"after": (0,)}, "checkpoint numbers >= 1"),
        ({"after": (3, 2)}, "increasing and distinct"),
        ({"keep": 1.0}, "strictly between 0 and 1"),
        ({"keep": 0}, "strictly between 0 and 1"),
    ],
)
def test_bad_values_are_one_clear_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Halving(**kwargs)


def test_the_engine_refuses_rungs_it_cannot_use_before_compiling():
    with pytest.raises(ValueError, match=r"rungs \[4\] are not before the last of the 4 checkpoints"):
        ppo_jax.train(CARTPOLE, [CARTPOLE.human], CFG, halving=Halving((1, 4)))
    with pytest.raises(ValueError, match="split program"):
        ppo_jax.train(CARTPOLE, [CARTPOLE.human], CFG, fused=True, halving=RUNG)
    with pytest.raises(TypeError, match="Halving"):
        ppo_jax.train(CARTPOLE, [CARTPOLE.human], CFG, halving={"after": [1]})
