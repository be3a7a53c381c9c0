"""Reward callables on a tiny batch: rule, static RM, and Cooper's RM step (parameters change, positives
are only rule-verified samples, rewards come from the RM before its update)."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rewardlab.cooper.config import make_config  # noqa: E402
from rewardlab.cooper.models import build_rm, setup_torch  # noqa: E402
from rewardlab.cooper.perturb import NegativeRequest, Perturber  # noqa: E402
from rewardlab.cooper.rewards import CooperReward, RuleReward, StaticRMReward, select_positives  # noqa: E402
from rewardlab.cooper.rm import RMExample, format_rm_input, score  # noqa: E402
from rewardlab.cooper.tokenizer import build_tokenizer  # noqa: E402

setup_torch(1)

P1, P2, P3 = "(3+4)*2=", "(5-1)*3=", "(2+2)*2="
BATCH = {
    "prompts": [P1, P1, P1, P2, P2, P2, P3, P3, P3],
    "completions": [
        "3+4=7;7*2=14;ans=14",  # correct, alternative form: rule abstains, must NOT be the positive
        "3+4=7;7*2=15;####15",  # wrong
        "3+4=7;7*2=14;####14",  # first rule-verified rollout of P1 -> positive
        "5-1=4;4*3=13;####13",  # wrong
        "5-1=4;4*3=12;####12.0",  # correct but rule abstains
        "garbage",  # unreadable: a rule failure that must not become a negative
        "2+2=4;4*2=8;####8",  # positive of P3
        "2+2=4;4*2=8;####8",  # later duplicate, not chosen
        "2+2=4;4*2=9;####9",
    ],
    "answer": ["14", "14", "14", "12", "12", "12", "8", "8", "8"],
}


class SpyNegatives:
    """Records what it was asked and delegates to the programmatic perturber."""

    def __init__(self):
        self.requests: list[NegativeRequest] = []
        self.inner = Perturber(seed=0)

    def generate(self, requests):
        self.requests.extend(requests)
        return self.inner.generate(requests)


class CheatingNegatives:
    """Returns the positive itself: the acceptance test must reject every pair."""

    def generate(self, requests):
        return [r.positive for r in requests]


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer()


def tiny_rm(tok):
    cfg = make_config("smoke")
    rm = build_rm(cfg, tok, seed=0)
    rm.eval()
    return rm


def test_rule_reward_batch():
    metrics = {}
    r = RuleReward()(**BATCH, log_metric=lambda k, v: metrics.__setitem__(k, v))
    assert r == [0, 0, 1, 0, 0, 0, 1, 1, 0]
    assert metrics["cooper/oracle_acc"] == pytest.approx(5 / 9)  # measurement: alt forms count as correct
    assert metrics["cooper/reward_mean"] == pytest.approx(3 / 9)


def test_select_positives_uses_only_the_rule():
    assert select_positives(BATCH["prompts"], BATCH["completions"], BATCH["answer"]) == [2, None, 6]


def test_static_rm_reward_is_frozen(tok):
    rm = tiny_rm(tok)
    before = [p.detach().clone() for p in rm.parameters()]
    out = StaticRMReward(rm, tok)(**BATCH)
    assert len(out) == 9 and all(0.0 < x < 1.0 for x in out)
    assert all(torch.equal(a, b) for a, b in zip(before, rm.parameters(), strict=True))


def test_cooper_reward_updates_rm_with_rule_verified_positives(tok):
    rm = tiny_rm(tok)
    texts = [
        format_rm_input(p, a, c)
        for p, c, a in zip(BATCH["prompts"], BATCH["completions"], BATCH["answer"], strict=True)
    ]
    expected = score(rm, tok, texts)
    before = [p.detach().clone() for p in rm.parameters()]
    spy = SpyNegatives()
    bench = [RMExample(P1, "14", BATCH["completions"][2], 1), RMExample(P1, "14", BATCH["completions"][1], 0)]
    metrics = {}
    reward = CooperReward(rm, tok, spy, lr=1e-2, bench=bench, bench_every=1)
    out = reward(**BATCH, log_metric=lambda k, v: metrics.__setitem__(k, v))
    assert out == pytest.approx(expected, abs=1e-6)  # rewards come from the RM before its update
    assert [r.positive for r in spy.requests] == [BATCH["completions"][2], BATCH["completions"][6]]
    assert [r.reference for r in spy.requests] == ["14", "8"]
    assert any(not torch.equal(a, b) for a, b in zip(before, rm.parameters(), strict=True))
    rec = reward.history[-1]
    assert rec["valid_pair_rate"] == pytest.approx(2 / 3)
    assert rec["rm_loss"] > 0 and rec["rm_loss"] == metrics["cooper/rm_loss"]
    assert 0.0 <= rec["rm_bench_acc"] <= 1.0 and 0.0 <= rec["rm_fp_rate"] <= 1.0
    for pos, neg in reward.last_pairs:
        assert pos in texts
        assert neg not in texts  # negatives are generated, never taken from the rollouts


def test_cooper_pairwise_step_raises_margin(tok):
    rm = tiny_rm(tok)
    reward = CooperReward(rm, tok, Perturber(seed=0), lr=3e-3)
    pairs, _ = reward.make_pairs(BATCH["prompts"], BATCH["completions"], BATCH["answer"])

    def margin():
        s = score(rm, tok, [p for p, _ in pairs] + [n for _, n in pairs])
        return sum(s[: len(pairs)]) - sum(s[len(pairs) :])

    m0 = margin()
    for _ in range(5):
        reward.update(pairs)
    assert margin() > m0


def test_invalid_negatives_are_rejected(tok):
    rm = tiny_rm(tok)
    before = [p.detach().clone() for p in rm.parameters()]
    reward = CooperReward(rm, tok, CheatingNegatives(), lr=1e-2)
    reward(**BATCH)
    assert reward.history[-1]["valid_pair_rate"] == 0.0
    assert all(torch.equal(a, b) for a, b in zip(before, rm.parameters(), strict=True))
