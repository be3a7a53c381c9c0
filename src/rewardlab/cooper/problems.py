"""Synthetic multi-step arithmetic with exact answers, a difficulty knob and a brittleness knob.

A problem is a prompt such as ``(12+7)*3=`` whose canonical worked solution is
``12+7=19;19*3=57;####57``. ``difficulty`` (1-4) widens the operand ranges and (at 4) adds a third step.
The *brittleness* knob writes a fraction of the SFT targets' final answers in an alternative form
(``####57.0`` or ``ans=57``): exact-value checking accepts them, the strict rule verifier does not,
which is the paper's "rule rewards are brittle" condition.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

ALT_FORMS = ("####{t}.0", "ans={t}")
_RANGES = {  # difficulty -> (first two operands, multiplier, third-step operand, steps)
    1: ((1, 29), (1, 5), (1, 9), 2),
    2: ((1, 49), (2, 9), (1, 9), 2),
    3: ((10, 99), (1, 9), (1, 9), 2),
    4: ((10, 99), (2, 9), (10, 99), 3),
}


@dataclass(frozen=True)
class Problem:
    """One arithmetic problem: the prompt the policy sees, its exact answer and worked steps."""

    prompt: str
    answer: int
    steps: tuple[str, ...]

    @property
    def reference(self) -> str:
        """The reference answer string given to the reference-based RM."""
        return str(self.answer)

    def solution(self, answer_form: str = "####{t}") -> str:
        """Worked solution, final answer written with ``answer_form`` (``{t}`` is the value)."""
        return ";".join([*self.steps, answer_form.format(t=self.answer)])


def make_problem(rng: random.Random, difficulty: int = 1) -> Problem:
    """Draw one problem; the chain is ``a±b=s; s*c=t`` (and ``t±d=u`` at difficulty 4)."""
    if difficulty not in _RANGES:
        raise ValueError(f"difficulty must be one of {sorted(_RANGES)} (got {difficulty})")
    (lo, hi), (clo, chi), (dlo, dhi), n_steps = _RANGES[difficulty]
    a, b = rng.randint(lo, hi), rng.randint(lo, hi)
    op = rng.choice("+-")
    s = a + b if op == "+" else a - b
    c = rng.randint(clo, chi)
    t = s * c
    steps = [f"{a}{op}{b}={s}", f"{s}*{c}={t}"]
    prompt = f"({a}{op}{b})*{c}"
    if n_steps == 3:
        d = rng.randint(dlo, dhi)
        op2 = rng.choice("+-")
        u = t + d if op2 == "+" else t - d
        steps.append(f"{t}{op2}{d}={u}")
        prompt += f"{op2}{d}"
        t = u
    return Problem(prompt=prompt + "=", answer=t, steps=tuple(steps))


@dataclass(frozen=True)
class ProblemSplit:
    """Disjoint train and held-out test problems (disjoint by prompt string)."""

    train: tuple[Problem, ...]
    test: tuple[Problem, ...]


def make_split(n_train: int, n_test: int, difficulty: int = 1, seed: int = 0) -> ProblemSplit:
    """Draw ``n_test`` held-out problems first, then ``n_train`` training problems with unseen prompts."""
    rng = random.Random(seed)
    test: dict[str, Problem] = {}
    tries = 0
    while len(test) < n_test:
        p = make_problem(rng, difficulty)
        test.setdefault(p.prompt, p)
        tries += 1
        if tries > 100 * (n_test + 10):
            raise ValueError("problem space too small for the requested held-out size")
    train: list[Problem] = []
    while len(train) < n_train:
        p = make_problem(rng, difficulty)
        if p.prompt not in test:
            train.append(p)
    return ProblemSplit(train=tuple(train), test=tuple(test.values()))


def sft_target(problem: Problem, rng: random.Random, brittle_frac: float) -> str:
    """SFT completion: the canonical form, or an alternative form with probability ``brittle_frac``."""
    if brittle_frac > 0 and rng.random() < brittle_frac:
        return problem.solution(rng.choice(ALT_FORMS))
    return problem.solution()
