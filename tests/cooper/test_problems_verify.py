"""Task generator, strict rule verifier, judge, oracle and hybrid annotation (hand-worked cases)."""

import random

import pytest

from rewardlab.cooper.problems import ALT_FORMS, make_problem, make_split, sft_target
from rewardlab.cooper.verify import (
    final_span,
    hybrid_label,
    judge_verdict,
    oracle_correct,
    rule_answer,
    rule_reward,
    rule_verdict,
)


@pytest.mark.parametrize("difficulty", [1, 2, 3, 4])
def test_problem_chain_is_exact(difficulty):
    rng = random.Random(difficulty)
    for _ in range(200):
        p = make_problem(rng, difficulty)
        assert p.prompt.endswith("=")
        assert eval(p.prompt[:-1]) == p.answer  # the prompt is a plain arithmetic expression
        for step in p.steps:
            lhs, rhs = step.split("=")
            assert eval(lhs) == int(rhs)
        assert len(p.steps) == (3 if difficulty == 4 else 2)
        sol = p.solution()
        assert sol.endswith(f"####{p.answer}")
        assert rule_verdict(sol, p.answer) is True
        assert oracle_correct(sol, p.answer)


def test_worked_example():
    p = make_problem(random.Random(0), 1)
    assert p.solution() == ";".join([*p.steps, f"####{p.answer}"])
    assert p.reference == str(p.answer)


def test_split_is_disjoint_and_sized():
    s = make_split(500, 100, difficulty=1, seed=3)
    assert len(s.train) == 500 and len(s.test) == 100
    assert not {p.prompt for p in s.train} & {p.prompt for p in s.test}
    assert len({p.prompt for p in s.test}) == 100
    assert make_split(500, 100, 1, 3) == s  # seeded


def test_brittleness_knob():
    p = make_problem(random.Random(1), 1)
    rng = random.Random(0)
    assert all(sft_target(p, rng, 0.0) == p.solution() for _ in range(50))
    alts = [sft_target(p, rng, 1.0) for _ in range(50)]
    assert {a for a in alts} <= {p.solution(f) for f in ALT_FORMS}
    for a in alts:
        assert rule_verdict(a, p.answer) is None  # strict rule abstains: a false negative for the rule reward
        assert rule_reward(a, p.answer) == 0.0
        assert oracle_correct(a, p.answer)
        assert judge_verdict(a, p.answer) is True
        assert hybrid_label(a, p.answer) == 1
    mixed = [sft_target(p, rng, 0.3) != p.solution() for _ in range(2000)]
    assert 0.25 < sum(mixed) / len(mixed) < 0.35


@pytest.mark.parametrize(
    ("text", "rule", "oracle", "judge", "label"),
    [
        ("3+4=7;7*2=14;####14", True, True, True, 1),
        ("3+4=7;7*2=14;####15", False, False, False, 0),
        ("3+4=7;7*2=14;####14.0", None, True, True, 1),
        ("3+4=7;7*2=14;ans=14", None, True, True, 1),
        ("3+4=7;7*2=14;ans=41", None, False, False, 0),
        ("3+4=7;7*2=14", None, False, None, None),  # nothing to judge: label dropped
        ("9-12=-3;-3*2=-6;####-6", None, None, None, None),  # checked against reference -6 below
    ],
)
def test_checkers_hand_cases(text, rule, oracle, judge, label):
    ref = 14
    if text.endswith("-6"):
        ref, rule, oracle, judge, label = -6, True, True, True, 1
    assert rule_verdict(text, ref) is rule
    assert oracle_correct(text, ref) is oracle
    assert judge_verdict(text, ref) is judge
    assert hybrid_label(text, ref) == label


def test_rule_answer_requires_final_strict_form():
    assert rule_answer("1+1=2;####2") == 2
    assert rule_answer("####2;1+1=2") is None
    assert rule_answer("####2x") is None
    assert final_span("a;####12") == "12"
    assert final_span("a;ans=12.0") == "12.0"


def test_judge_noise_flips():
    rng = random.Random(0)
    flips = [judge_verdict("####5", 5, noise=1.0, rng=rng) for _ in range(5)]
    assert flips == [False] * 5
    assert hybrid_label("####5", 5, judge_noise=1.0, rng=rng) == 1  # the rule decides, the judge is not asked
