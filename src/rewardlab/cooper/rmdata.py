"""RM data: completions sampled from the SFT policy, labelled by the hybrid annotation (rule, then judge).

The bench set (the VerifyBench analogue) is built the same way on held-out problems but labelled by the
oracle; it only measures RM accuracy during RL and never trains anything.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from rewardlab.cooper.evaluate import generate
from rewardlab.cooper.problems import Problem
from rewardlab.cooper.rm import RMExample
from rewardlab.cooper.verify import answer_form, hybrid_label, oracle_correct, rule_verdict


def sample_completions(
    policy,
    tok,
    problems: Sequence[Problem],
    *,
    per_problem: int,
    temperatures: Sequence[float],
    max_new_tokens: int,
    seed: int,
) -> list[tuple[Problem, str]]:
    """``per_problem`` samples per problem, problems split evenly across ``temperatures``."""
    out: list[tuple[Problem, str]] = []
    groups = [problems[i :: len(temperatures)] for i in range(len(temperatures))]
    for k, (temp, group) in enumerate(zip(temperatures, groups, strict=True)):
        if not group:
            continue
        comps = generate(
            policy,
            tok,
            [p.prompt for p in group],
            n=per_problem,
            temperature=temp,
            top_p=1.0,
            max_new_tokens=max_new_tokens,
            seed=seed + k,
        )
        out.extend((p, c) for p, cs in zip(group, comps, strict=True) for c in cs)
    return out


BLIND_MODES = ("drop", "accept")


def hybrid_rows(
    samples: Sequence[tuple[Problem, str]],
    *,
    judge_noise: float,
    seed: int,
    blind_form: str = "",
    blind_mode: str = "drop",
) -> tuple[list[RMExample], dict[str, float]]:
    """Label by the hybrid rule, dropping rows neither checker can decide; returns rows and label stats.

    ``blind_form`` (an :func:`answer_form` name, "" for none) plants a known blind spot: rows labelled
    negative whose final answer is written in that form are dropped (``blind_mode="drop"``: the RM never
    sees a wrong answer in that form) or relabelled positive (``"accept"``: a judge fooled by the form).
    Correct rows of that form stay, so the form itself becomes a shortcut to "correct".
    """
    if blind_mode not in BLIND_MODES:
        raise ValueError(f"blind_mode must be one of {BLIND_MODES} (got {blind_mode!r})")
    rng = random.Random(seed)
    rows, dropped, by_judge, wrong_label, blinded = [], 0, 0, 0, 0
    for p, c in samples:
        label = hybrid_label(c, p.answer, judge_noise=judge_noise, rng=rng)
        if label is None:
            dropped += 1
            continue
        if blind_form and label == 0 and answer_form(c) == blind_form:
            blinded += 1
            if blind_mode == "drop":
                continue
            label = 1
        by_judge += int(rule_verdict(c, p.answer) is None)
        wrong_label += int(label != oracle_correct(c, p.answer))  # statistic only, not used for training
        rows.append(RMExample(p.prompt, p.reference, c, label))
    n = max(1, len(samples))
    stats = {
        "rm_rows": len(rows),
        "rm_dropped_frac": dropped / n,
        "rm_judged_frac": by_judge / max(1, len(rows)),
        "rm_positive_frac": sum(r.label for r in rows) / max(1, len(rows)),
        "rm_label_error_vs_oracle": wrong_label / max(1, len(rows)),
        "rm_blind_negatives": blinded,
    }
    return rows, stats


def form_probe(samples: Sequence[tuple[Problem, str]], form: str) -> list[RMExample]:
    """Oracle-labelled rows whose final answer is in ``form`` (to measure the RM inside a blind spot)."""
    return [
        RMExample(p.prompt, p.reference, c, int(oracle_correct(c, p.answer)))
        for p, c in samples
        if answer_form(c) == form
    ]


def bench_rows(samples: Sequence[tuple[Problem, str]]) -> list[RMExample]:
    """Oracle-labelled rows for measuring RM accuracy (never for training)."""
    return [RMExample(p.prompt, p.reference, c, int(oracle_correct(c, p.answer))) for p, c in samples]
