"""Three checkers with different jobs, kept apart so that the oracle cannot leak into training.

* :func:`rule_verdict` - the strict rule verifier (precise but brittle): only ``####<int>`` at the end
  of a completion counts; anything else is an abstention (``None``). It gives the rule reward, picks
  Cooper's positives and accepts generated negatives.
* :func:`judge_verdict` - the "LLM judge" of the hybrid annotation, played by Math-Verify on the final
  answer span (``####...`` or ``ans=...``). Used only where the rule abstains, only when building the
  RM's offline BCE data (the paper labels with Math-Verify + an LLM judge and keeps reliable labels).
* :func:`oracle_correct` - exact value of the final answer; used *only* to measure true accuracy.
"""

from __future__ import annotations

import logging
import random
import re

_STRICT = re.compile(r"####(-?\d+)\s*$")
_SPAN = re.compile(r"(?:####|ans=)\s*([^;#]*?)\s*$")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def rule_answer(completion: str) -> int | None:
    """The integer after a final ``####``, or None when the completion is not in the strict form."""
    m = _STRICT.search(completion)
    return int(m.group(1)) if m else None


def rule_verdict(completion: str, reference: str | int) -> bool | None:
    """Strict rule check: True/False when the answer is in ``####<int>`` form, None (abstain) otherwise."""
    ans = rule_answer(completion)
    if ans is None:
        return None
    return ans == int(reference)


def rule_reward(completion: str, reference: str | int) -> float:
    """1.0 only for a strictly formatted, correct final answer (abstentions score 0, like a regex reward)."""
    return 1.0 if rule_verdict(completion, reference) else 0.0


def final_span(completion: str) -> str | None:
    """The text after the last ``####`` or ``ans=`` at the end of the completion, if any."""
    m = _SPAN.search(completion.strip())
    return m.group(1) if m and m.group(1) else None


ANSWER_FORMS = ("strict", "dot0", "ans", "none")


def answer_form(completion: str) -> str:
    """How the final answer is written: ``strict`` (``####<int>``), ``dot0`` (any other ``####`` span,
    e.g. ``####57.0``), ``ans`` (``ans=...``) or ``none`` (no final-answer marker at the end).

    The RM blind-spot experiment removes the negatives of one form from the RM's data; this names the form.
    """
    text = completion.strip()
    if _STRICT.search(text):
        return "strict"
    m = re.search(r"(####|ans=)[^;#]*$", text)
    if not m:
        return "none"
    return "ans" if m.group(1) == "ans=" else "dot0"


def oracle_correct(completion: str, reference: str | int) -> bool:
    """Ground truth for measurement only: the final answer, in any accepted form, equals the exact value."""
    span = final_span(completion)
    if span is None or not _NUMBER.fullmatch(span):
        return False
    return float(span) == float(reference)


def judge_verdict(
    completion: str, reference: str | int, *, noise: float = 0.0, rng: random.Random | None = None
) -> bool | None:
    """Math-Verify on the final answer span; None when there is no span to judge (label dropped).

    ``noise`` flips the verdict with that probability, mimicking an imperfect LLM judge.
    """
    span = final_span(completion)
    if span is None:
        return None
    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    gold = parse(str(reference), parsing_timeout=None)
    pred = parse(span, parsing_timeout=None)
    if not pred:
        return None
    ok = bool(verify(gold, pred, timeout_seconds=None))
    if noise > 0 and (rng or random).random() < noise:
        ok = not ok
    return ok


def hybrid_label(
    completion: str, reference: str | int, *, judge_noise: float = 0.0, rng: random.Random | None = None
) -> int | None:
    """Hybrid annotation: the rule where it decides, the judge where it abstains, else None (dropped)."""
    verdict = rule_verdict(completion, reference)
    if verdict is None:
        verdict = judge_verdict(completion, reference, noise=judge_noise, rng=rng)
    return None if verdict is None else int(verdict)
