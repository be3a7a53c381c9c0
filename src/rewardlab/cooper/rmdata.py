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
from rewardlab.cooper.verify import hybrid_label, oracle_correct, rule_verdict


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


def hybrid_rows(
    samples: Sequence[tuple[Problem, str]], *, judge_noise: float, seed: int
) -> tuple[list[RMExample], dict[str, float]]:
    """Label by the hybrid rule, dropping rows neither checker can decide; returns rows and label stats."""
    rng = random.Random(seed)
    rows, dropped, by_judge, wrong_label = [], 0, 0, 0
    for p, c in samples:
        label = hybrid_label(c, p.answer, judge_noise=judge_noise, rng=rng)
        if label is None:
            dropped += 1
            continue
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
    }
    return rows, stats


def bench_rows(samples: Sequence[tuple[Problem, str]]) -> list[RMExample]:
    """Oracle-labelled rows for measuring RM accuracy (never for training)."""
    return [RMExample(p.prompt, p.reference, c, int(oracle_correct(c, p.answer))) for p, c in samples]
