"""TRL-style completion rewards: ``f(prompts, completions, answer=..., **columns) -> list[float]``.

* :class:`RuleReward` - 1 for a strictly formatted correct answer, else 0.
* :class:`StaticRMReward` - sigmoid score of the frozen reference-based RM.
* :class:`CooperReward` - the same score from the *current* RM, then one pairwise RM step on
  (first rule-verified rollout of each prompt, generated negative) pairs; the returned rewards come
  from the RM before that step.

Each call appends a record to ``history`` (and to TRL's metrics through ``log_metric``). Fields named
``oracle_*``, ``rm_fp_rate`` (share of all rollouts that are wrong yet scored > 0.5),
``rm_wrong_accept_rate`` (share of the wrong rollouts scored > 0.5) and the per-answer-form ``frac_*`` /
``rm_wrong_accept_*`` use the exact-value oracle and are measurements only: they are computed
after the rewards and never influence them, the positives or the RM update.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from rewardlab.cooper.perturb import NegativeGenerator, NegativeRequest, accept_negative
from rewardlab.cooper.rm import RMExample, accuracy, format_rm_input, pairwise_loss, rm_logits, score
from rewardlab.cooper.verify import answer_form, oracle_correct, rule_reward, rule_verdict


def _log(log_metric: Callable[[str, float], None] | None, record: dict[str, Any]) -> None:
    if log_metric is None:
        return
    for k, v in record.items():
        if isinstance(v, int | float) and not isinstance(v, bool) and k != "call" and not math.isnan(v):
            log_metric(f"cooper/{k}", float(v))


def _monitor(
    completions: Sequence[str],
    answers: Sequence[str],
    rewards: Sequence[float],
    rm_scores: Sequence[float] | None,
) -> dict[str, float]:
    truth = [oracle_correct(c, a) for c, a in zip(completions, answers, strict=True)]
    rec = {
        "reward_mean": sum(rewards) / len(rewards),
        "oracle_acc": sum(truth) / len(truth),
        "rule_acc": sum(bool(rule_verdict(c, a)) for c, a in zip(completions, answers, strict=True))
        / len(truth),
        "completion_len": sum(len(c) for c in completions) / len(completions),
    }
    if rm_scores is not None:
        rec["rm_fp_rate"] = sum(s > 0.5 and not t for s, t in zip(rm_scores, truth, strict=True)) / len(truth)
        rec["rm_rollout_acc"] = sum((s > 0.5) == t for s, t in zip(rm_scores, truth, strict=True)) / len(
            truth
        )
        wrong = [s for s, t in zip(rm_scores, truth, strict=True) if not t]
        rec["rm_wrong_accept_rate"] = sum(s > 0.5 for s in wrong) / len(wrong) if wrong else math.nan
    forms = [answer_form(c) for c in completions]
    for form in ("dot0", "ans"):
        rec[f"frac_{form}"] = forms.count(form) / len(forms)
        if rm_scores is not None:
            wrong = [s for s, t, f in zip(rm_scores, truth, forms, strict=True) if f == form and not t]
            rec[f"rm_wrong_accept_{form}"] = sum(s > 0.5 for s in wrong) / len(wrong) if wrong else math.nan
    return rec


class RuleReward:
    """Strict rule reward (precise but brittle: alternative answer forms score 0)."""

    __name__ = "rule_reward"

    def __init__(self) -> None:
        self.history: list[dict[str, Any]] = []

    def __call__(self, prompts, completions, answer, log_metric=None, **_: Any) -> list[float]:
        rewards = [rule_reward(c, a) for c, a in zip(completions, answer, strict=True)]
        rec = {"call": len(self.history), **_monitor(completions, answer, rewards, None)}
        self.history.append(rec)
        _log(log_metric, rec)
        return rewards


class StaticRMReward:
    """Frozen reference-based RM: reward = sigmoid(logit) of ``Q:q|C:c|R:r``."""

    __name__ = "static_rm_reward"

    def __init__(self, rm, tok, *, max_chars: int = 64, bench: Sequence[RMExample] = ()) -> None:
        self.rm, self.tok, self.max_chars = rm, tok, max_chars
        self.history: list[dict[str, Any]] = []
        self.bench_acc = accuracy(rm, tok, bench, max_chars) if bench else float("nan")

    def texts(self, prompts: Sequence[str], completions: Sequence[str], answers: Sequence[str]) -> list[str]:
        return [
            format_rm_input(p, str(a), c, self.max_chars)
            for p, c, a in zip(prompts, completions, answers, strict=True)
        ]

    def __call__(self, prompts, completions, answer, log_metric=None, **_: Any) -> list[float]:
        rewards = score(self.rm, self.tok, self.texts(prompts, completions, answer))
        rec = {
            "call": len(self.history),
            **_monitor(completions, answer, rewards, rewards),
            "rm_bench_acc": self.bench_acc,
        }
        self.history.append(rec)
        _log(log_metric, rec)
        return rewards


def select_positives(
    prompts: Sequence[str], completions: Sequence[str], answers: Sequence[str]
) -> list[int | None]:
    """Per distinct prompt (in order of appearance): index of its first rule-verified rollout, or None.

    Only the strict rule verifier decides; rule failures are never used (they include format false
    negatives), and the oracle is not consulted.
    """
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(prompts):
        groups.setdefault(p, []).append(i)
    out: list[int | None] = []
    for idx in groups.values():
        out.append(next((i for i in idx if rule_verdict(completions[i], answers[i]) is True), None))
    return out


class CooperReward(StaticRMReward):
    """Reward from the current RM, then pairwise RM step(s) (Cooper), all inside the reward call.

    The paper takes one step per GRPO step; ``steps`` > 1 repeats it on the same pairs, which lets a small
    RM catch up with a policy that moves into its errors faster than one step can follow.
    """

    __name__ = "cooper_reward"

    def __init__(
        self,
        rm,
        tok,
        negatives: NegativeGenerator,
        *,
        lr: float = 5e-5,
        steps: int = 1,
        grad_clip: float = 1.0,
        bce_weight: float = 0.0,
        max_chars: int = 64,
        bench: Sequence[RMExample] = (),
        bench_every: int = 5,
    ) -> None:
        import torch

        super().__init__(rm, tok, max_chars=max_chars, bench=bench)
        self.negatives = negatives
        if steps < 1:
            raise ValueError(f"steps must be >= 1 (got {steps})")
        self.steps, self.grad_clip, self.bce_weight = steps, grad_clip, bce_weight
        self.bench, self.bench_every = list(bench), bench_every
        self.opt = torch.optim.AdamW(rm.parameters(), lr=lr, weight_decay=0.01)
        self.last_pairs: list[tuple[str, str]] = []

    def make_pairs(self, prompts, completions, answers) -> tuple[list[tuple[str, str]], int]:
        """(positive, negative) RM input texts for every prompt with a usable pair, and the prompt count."""
        pos_idx = select_positives(prompts, completions, answers)
        chosen = [i for i in pos_idx if i is not None]
        group = {}
        for p, c in zip(prompts, completions, strict=True):
            group.setdefault(p, []).append(c)
        requests = [
            NegativeRequest(prompts[i], completions[i], str(answers[i]), tuple(group[prompts[i]]))
            for i in chosen
        ]
        negs = self.negatives.generate(requests) if requests else []
        pairs = []
        for i, neg in zip(chosen, negs, strict=True):
            if accept_negative(neg, str(answers[i]), judge=True):
                pairs.append(
                    (
                        format_rm_input(prompts[i], str(answers[i]), completions[i], self.max_chars),
                        format_rm_input(prompts[i], str(answers[i]), neg, self.max_chars),
                    )
                )
        return pairs, len(pos_idx)

    def update(self, pairs: Sequence[tuple[str, str]]) -> dict[str, float]:
        """``steps`` optimizer steps of -log sigmoid(s_pos - s_neg) (+ optional BCE) over the valid pairs.

        The statistics are those of the first step: the loss and pair accuracy the RM had on these pairs
        before this GRPO step changed it.
        """
        if not pairs:
            return {"rm_loss": float("nan"), "rm_grad_norm": float("nan"), "pair_acc": float("nan")}
        first = self._step(pairs)
        for _ in range(self.steps - 1):
            self._step(pairs)
        return first

    def _step(self, pairs: Sequence[tuple[str, str]]) -> dict[str, float]:
        import torch
        import torch.nn.functional as F

        self.rm.train()
        logits = rm_logits(self.rm, self.tok, [p for p, _ in pairs] + [n for _, n in pairs])
        s_pos, s_neg = logits[: len(pairs)], logits[len(pairs) :]
        loss = pairwise_loss(s_pos, s_neg)
        if self.bce_weight > 0:
            target = torch.cat([torch.ones_like(s_pos), torch.zeros_like(s_neg)])
            loss = loss + self.bce_weight * F.binary_cross_entropy_with_logits(logits, target)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(self.rm.parameters(), self.grad_clip)
        self.opt.step()
        self.rm.eval()
        return {
            "rm_loss": loss.item(),
            "rm_grad_norm": float(gn),
            "pair_acc": (s_pos > s_neg).float().mean().item(),
        }

    def __call__(self, prompts, completions, answer, log_metric=None, **_: Any) -> list[float]:
        rewards = score(self.rm, self.tok, self.texts(prompts, completions, answer))  # before the RM update
        pairs, n_prompts = self.make_pairs(prompts, completions, answer)
        self.last_pairs = list(pairs)
        stats = self.update(pairs)
        call = len(self.history)
        if self.bench and (call + 1) % self.bench_every == 0:
            self.bench_acc = accuracy(self.rm, self.tok, self.bench, self.max_chars)
        rec = {
            "call": call,
            **_monitor(completions, answer, rewards, rewards),
            **stats,
            "valid_pair_rate": len(pairs) / max(1, n_prompts),
            "rm_bench_acc": self.bench_acc,
        }
        self.history.append(rec)
        _log(log_metric, rec)
        return rewards
