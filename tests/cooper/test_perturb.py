"""Negative generators: every accepted negative is wrong (by the rule and by the oracle) and plausible."""

import random
import re

import pytest

from rewardlab.cooper.perturb import (
    NegativeGenerator,
    NegativeRequest,
    Perturber,
    accept_negative,
    carried_slip,
    digit_swap,
    near_miss,
)
from rewardlab.cooper.problems import make_problem
from rewardlab.cooper.verify import oracle_correct, rule_verdict

_STEP = re.compile(r"^(-?\d+)([+\-*])(-?\d+)=(-?\d+)$")


@pytest.mark.parametrize("difficulty", [1, 2, 3, 4])
def test_every_generated_negative_verifies_wrong(difficulty):
    rng = random.Random(difficulty)
    gen = Perturber(seed=difficulty)
    assert isinstance(gen, NegativeGenerator)
    problems = [make_problem(rng, difficulty) for _ in range(300)]
    reqs = [NegativeRequest(p.prompt, p.solution(), p.reference) for p in problems]
    negs = gen.generate(reqs)
    assert sum(n is not None for n in negs) == len(negs)  # well-formed positives always yield a negative
    for p, n in zip(problems, negs, strict=True):
        assert rule_verdict(n, p.answer) is False
        assert not oracle_correct(n, p.answer)
        assert abs(len(n) - len(p.solution())) <= 10  # similar length and the same surface form
        assert n.count(";") == p.solution().count(";")


def test_carried_slip_is_consistent_after_the_slip():
    rng = random.Random(0)
    for _ in range(200):
        p = make_problem(rng, 4)
        neg = carried_slip(p.solution(), rng)
        parts = neg.split(";")
        steps = [_STEP.match(s).groups() for s in parts[:-1]]
        wrong = [i for i, (a, op, b, r) in enumerate(steps) if eval(f"{a}{op}({b})") != int(r)]
        assert len(wrong) == 1  # exactly one slip
        for i in range(1, len(steps)):
            assert steps[i][0] == steps[i - 1][3]  # later steps use the wrong value consistently
        assert parts[-1] == f"####{steps[-1][3]}"
        assert int(steps[-1][3]) != p.answer


def test_near_miss_and_digit_swap():
    rng = random.Random(1)
    assert near_miss("1+2=3;3*4=12;####12", rng).startswith("1+2=3;3*4=12;####")
    assert digit_swap("1+2=3;3*4=12;####12", rng) == "1+2=3;3*4=12;####21"
    assert digit_swap("####11", rng) is None
    assert near_miss("1+2=3;3*4=12;ans=12", rng) is None


def test_malformed_positive_is_not_crashed_on():
    rng = random.Random(0)
    broken = "1+2=4;3*4=12;####12"  # right answer, broken first step
    assert carried_slip(broken, rng) is None
    gen = Perturber(seed=0, weights=(1.0, 0.0, 0.0))
    neg = gen.generate([NegativeRequest("(1+2)*4=", broken, "12")])[0]
    assert accept_negative(neg, "12")  # falls back to another kind of mistake
    assert gen.generate([NegativeRequest("(1+2)*4=", "garbage", "12")]) == [None]


def test_acceptance_test():
    assert accept_negative("x;####13", "12")
    assert not accept_negative("x;####12", "12")
    assert not accept_negative("x;ans=13", "12")  # the rule verifier cannot read it: rejected
    assert not accept_negative(None, "12")
