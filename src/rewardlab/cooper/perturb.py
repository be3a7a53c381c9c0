"""Negative generators: turn a rule-verified correct solution into a plausible wrong one.

Cooper asks an assistant LLM to rewrite the positive into a similar-length solution reaching a wrong
answer and keeps it only if the verifier confirms the answer differs. :class:`Perturber` plays that
role on CPU with programmatic edits of the worked chain; :mod:`rewardlab.cooper.llm_negatives` holds
the LLM version. Both satisfy :class:`NegativeGenerator` and both are filtered by :func:`accept_negative`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from rewardlab.cooper.verify import hybrid_label, rule_answer

_STEP = re.compile(r"^(-?\d+)([+\-*])(-?\d+)=(-?\d+)$")
_DELTAS = (1, -1, 2, -2, 10, -10)


@dataclass(frozen=True)
class NegativeRequest:
    """What a negative generator is given: the question, the verified-correct positive, the reference."""

    question: str
    positive: str
    reference: str
    rollouts: tuple[str, ...] = ()  # the same prompt's rollouts (used by on-policy negatives only)


@runtime_checkable
class NegativeGenerator(Protocol):
    """Makes one wrong-but-plausible rewrite per request (None where it could not)."""

    def generate(self, requests: Sequence[NegativeRequest]) -> list[str | None]: ...


def accept_negative(candidate: str | None, reference: str, *, judge: bool = False) -> bool:
    """Cooper's acceptance test: the rule verifier reads a final answer and it differs from the reference.

    With ``judge`` the Math-Verify judge decides where the strict rule abstains (the official recipe
    accepts a negative when Math-Verify says its answer is not equivalent), so a wrong answer written in
    an alternative form (``ans=13``) is accepted too.
    """
    if candidate is None:
        return False
    if judge:
        return hybrid_label(candidate, reference) == 0
    ans = rule_answer(candidate)
    return ans is not None and ans != int(reference)


def _apply(a: int, op: str, b: int) -> int:
    return a + b if op == "+" else a - b if op == "-" else a * b


def near_miss(positive: str, rng: random.Random) -> str | None:
    """Change only the final ``####`` value by a small or a place-value slip (the chain is left as is)."""
    ans = rule_answer(positive)
    if ans is None:
        return None
    head = positive[: positive.rindex("####")]
    return f"{head}####{ans + rng.choice(_DELTAS)}"


def carried_slip(positive: str, rng: random.Random) -> str | None:
    """Slip in one intermediate result and carry the wrong value consistently through later steps.

    Returns None when the positive's chain is not well formed (a rollout can reach the right final
    answer through a broken step; such positives are skipped rather than trusted).
    """
    parts = positive.strip().split(";")
    if len(parts) < 2 or not parts[-1].startswith("####"):
        return None
    steps = []
    for part in parts[:-1]:
        m = _STEP.match(part)
        if not m:
            return None
        steps.append([int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4))])
    for i in range(1, len(steps)):
        if steps[i][0] != steps[i - 1][3]:
            return None
    k = rng.randrange(len(steps))
    steps[k][3] += rng.choice(_DELTAS)
    for i in range(k + 1, len(steps)):
        steps[i][0] = steps[i - 1][3]
        steps[i][3] = _apply(steps[i][0], steps[i][1], steps[i][2])
    body = [f"{a}{op}{b}={r}" for a, op, b, r in steps]
    return ";".join([*body, f"####{steps[-1][3]}"])


def digit_swap(positive: str, rng: random.Random) -> str | None:
    """Swap two different digits of the final answer (a transcription slip)."""
    ans = rule_answer(positive)
    if ans is None:
        return None
    digits = list(str(abs(ans)))
    pairs = [(i, j) for i in range(len(digits)) for j in range(i + 1, len(digits)) if digits[i] != digits[j]]
    if not pairs:
        return None
    i, j = rng.choice(pairs)
    digits[i], digits[j] = digits[j], digits[i]
    swapped = int("".join(digits)) * (-1 if ans < 0 else 1)
    head = positive[: positive.rindex("####")]
    return f"{head}####{swapped}"


class Perturber:
    """Programmatic negative generator (the CPU default), mixing three kinds of plausible mistakes.

    ``weights`` sets how often each kind is tried first (carried slip, near miss, digit swap); the
    others are tried in turn if the first fails the acceptance test.
    """

    kinds = ("carried_slip", "near_miss", "digit_swap")

    def __init__(self, seed: int = 0, weights: tuple[float, float, float] = (0.6, 0.3, 0.1)) -> None:
        self.rng = random.Random(seed)
        self.weights = weights
        self._fns = {"carried_slip": carried_slip, "near_miss": near_miss, "digit_swap": digit_swap}

    def one(self, request: NegativeRequest) -> str | None:
        first = self.rng.choices(self.kinds, weights=self.weights)[0]
        order = [first, *[k for k in self.kinds if k != first]]
        for kind in order:
            cand = self._fns[kind](request.positive, self.rng)
            if accept_negative(cand, request.reference):
                return cand
        return None

    def generate(self, requests: Sequence[NegativeRequest]) -> list[str | None]:
        return [self.one(r) for r in requests]


class RolloutNegatives:
    """On-policy negatives: the first of the prompt's own rollouts that the verifier confirms wrong.

    The acceptance is :func:`accept_negative` with the judge, so wrong answers in any form the policy
    actually writes become negatives (the programmatic perturber only ever rewrites the canonical
    ``####`` positive). Prompts with no verified-wrong rollout fall back to ``fallback`` if given.
    """

    def __init__(self, fallback: NegativeGenerator | None = None) -> None:
        self.fallback = fallback
        self.stats = {"from_rollouts": 0, "from_fallback": 0}

    def generate(self, requests: Sequence[NegativeRequest]) -> list[str | None]:
        out: list[str | None] = []
        missing: list[int] = []
        for req in requests:
            neg = next((c for c in req.rollouts if accept_negative(c, req.reference, judge=True)), None)
            out.append(neg)
            if neg is None:
                missing.append(len(out) - 1)
            else:
                self.stats["from_rollouts"] += 1
        if self.fallback is not None and missing:
            for i, neg in zip(missing, self.fallback.generate([requests[i] for i in missing]), strict=True):
                out[i] = neg
                self.stats["from_fallback"] += int(neg is not None)
        return out
