"""The planted RM blind spot, on-policy negatives, the rollout false-positive measurements and the BCE
term of the online update (hand-worked answers)."""

import math

import pytest

from rewardlab.cooper.perturb import NegativeRequest, Perturber, RolloutNegatives, accept_negative
from rewardlab.cooper.problems import Problem
from rewardlab.cooper.rewards import _monitor
from rewardlab.cooper.rmdata import form_probe, hybrid_rows
from rewardlab.cooper.verify import answer_form

P = Problem("(3+4)*2=", 14, ("3+4=7", "7*2=14"))
SAMPLES = [
    (P, "3+4=7;7*2=14;####14"),  # strict, right -> 1
    (P, "3+4=7;7*2=15;####15"),  # strict, wrong -> 0
    (P, "3+4=7;7*2=14;ans=14"),  # ans, right -> 1 (judge)
    (P, "3+4=7;7*2=16;ans=16"),  # ans, wrong -> 0 (judge): the blind spot
    (P, "3+4=7;7*2=14;####14.0"),  # dot0, right -> 1 (judge)
    (P, "3+4=7;7*2=1"),  # no answer: dropped by the hybrid labeller
]


def test_answer_form():
    forms = [answer_form(c) for _, c in SAMPLES]
    assert forms == ["strict", "strict", "ans", "ans", "dot0", "none"]
    assert answer_form("ans=3;####4") == "strict" and answer_form("x;ans=") == "ans"


def test_hybrid_rows_without_blind_spot():
    rows, stats = hybrid_rows(SAMPLES, judge_noise=0.0, seed=0)
    assert [r.label for r in rows] == [1, 0, 1, 0, 1]
    assert stats["rm_blind_negatives"] == 0 and stats["rm_label_error_vs_oracle"] == 0


def test_blind_spot_drop_removes_only_wrong_answers_in_that_form():
    rows, stats = hybrid_rows(SAMPLES, judge_noise=0.0, seed=0, blind_form="ans")
    assert [(r.completion[-6:], r.label) for r in rows] == [
        ("####14", 1),
        ("####15", 0),
        ("ans=14", 1),
        ("##14.0", 1),
    ]
    assert stats["rm_blind_negatives"] == 1 and stats["rm_rows"] == 4
    assert stats["rm_positive_frac"] == pytest.approx(3 / 4)


def test_blind_spot_accept_relabels_them_positive():
    rows, stats = hybrid_rows(SAMPLES, judge_noise=0.0, seed=0, blind_form="ans", blind_mode="accept")
    assert [r.label for r in rows] == [1, 0, 1, 1, 1]
    assert stats["rm_label_error_vs_oracle"] == pytest.approx(1 / 5)  # the planted wrong label
    with pytest.raises(ValueError):
        hybrid_rows(SAMPLES, judge_noise=0.0, seed=0, blind_form="ans", blind_mode="flip")


def test_form_probe_is_oracle_labelled():
    probe = form_probe(SAMPLES, "ans")
    assert [(r.completion, r.label) for r in probe] == [(SAMPLES[2][1], 1), (SAMPLES[3][1], 0)]


def test_accept_negative_with_judge_reads_alternative_forms():
    assert not accept_negative("x;ans=13", "12")  # strict rule only: unreadable
    assert accept_negative("x;ans=13", "12", judge=True)
    assert accept_negative("x;####13.0", "12", judge=True)
    assert not accept_negative("x;ans=12", "12", judge=True)  # right answer in another form
    assert not accept_negative("x;12", "12", judge=True)  # nothing to judge
    assert accept_negative("x;####13", "12", judge=True)


def test_rollout_negatives_take_the_first_verified_wrong_rollout_else_fallback():
    group = ("3+4=7;7*2=14;ans=14", "garbage", "3+4=7;7*2=16;ans=16", "3+4=7;7*2=15;####15")
    with_wrong = NegativeRequest("(3+4)*2=", "3+4=7;7*2=14;####14", "14", group)
    no_wrong = NegativeRequest("(3+4)*2=", "3+4=7;7*2=14;####14", "14", group[:2])
    gen = RolloutNegatives(fallback=Perturber(seed=0))
    out = gen.generate([with_wrong, no_wrong])
    assert out[0] == "3+4=7;7*2=16;ans=16"
    assert out[1] is not None and accept_negative(out[1], "14")  # programmatic fallback
    assert gen.stats == {"from_rollouts": 1, "from_fallback": 1}
    assert RolloutNegatives().generate([no_wrong]) == [None]


def test_monitor_false_positive_measurements_hand_worked():
    comps = ["a;####14", "a;####15", "a;ans=16", "a;ans=14", "a;ans=17"]
    answers = ["14"] * 5
    scores = [0.9, 0.6, 0.8, 0.7, 0.2]  # wrong: ####15 (accepted), ans=16 (accepted), ans=17 (rejected)
    rec = _monitor(comps, answers, scores, scores)
    assert rec["oracle_acc"] == pytest.approx(2 / 5)
    assert rec["rm_fp_rate"] == pytest.approx(2 / 5)  # share of all rollouts
    assert rec["rm_wrong_accept_rate"] == pytest.approx(2 / 3)  # share of the wrong ones
    assert rec["frac_ans"] == pytest.approx(3 / 5) and rec["frac_dot0"] == 0
    assert rec["rm_wrong_accept_ans"] == pytest.approx(1 / 2)
    assert math.isnan(rec["rm_wrong_accept_dot0"])
    assert "rm_fp_rate" not in _monitor(comps, answers, [1.0] * 5, None)


def test_bce_term_adds_weighted_bce_to_the_pairwise_loss():
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    import torch.nn.functional as F

    from rewardlab.cooper.config import make_config
    from rewardlab.cooper.models import build_rm, setup_torch
    from rewardlab.cooper.rewards import CooperReward
    from rewardlab.cooper.rm import accuracy_by_form, pairwise_loss, rm_logits
    from rewardlab.cooper.tokenizer import build_tokenizer

    setup_torch(1)
    tok = build_tokenizer()
    pairs = [("Q:a|C:####14|R:14", "Q:a|C:####15|R:14"), ("Q:b|C:####8|R:8", "Q:b|C:ans=9|R:8")]
    losses = {}
    for w in (0.0, 0.5):
        rm = build_rm(make_config("smoke"), tok, seed=0)
        rm.eval()
        with torch.no_grad():
            logits = rm_logits(rm, tok, [p for p, _ in pairs] + [n for _, n in pairs])
        pw = pairwise_loss(logits[:2], logits[2:]).item()
        bce = F.binary_cross_entropy_with_logits(logits, torch.tensor([1.0, 1.0, 0.0, 0.0])).item()
        stats = CooperReward(rm, tok, Perturber(), lr=1e-3, bce_weight=w).update(pairs)
        assert stats["rm_loss"] == pytest.approx(pw + w * bce, abs=1e-5)
        losses[w] = stats["rm_loss"]
    assert losses[0.5] > losses[0.0]
    rows = [r for r in hybrid_rows(SAMPLES, judge_noise=0.0, seed=0)[0]]
    cells = accuracy_by_form(rm, tok, rows)
    assert cells["n:strict/1"] == 1 and cells["n:strict/0"] == 1 and cells["n:ans/0"] == 1
    assert all(0.0 <= cells[k] <= 1.0 for k in cells if not k.startswith("n:"))


def test_cooper_rm_steps_repeat_the_step_on_the_same_pairs():
    """steps=3 is three single steps of one optimizer (bit for bit), reports the first step's statistics,
    and lowers the pairwise loss on those pairs more than one step does."""
    import torch

    from rewardlab.cooper.config import make_config
    from rewardlab.cooper.models import build_rm, setup_torch
    from rewardlab.cooper.rewards import CooperReward
    from rewardlab.cooper.rm import pairwise_loss, rm_logits
    from rewardlab.cooper.tokenizer import build_tokenizer

    setup_torch(1)
    tok = build_tokenizer()
    pairs = [("Q:a|C:####14|R:14", "Q:a|C:####15|R:14"), ("Q:b|C:####8|R:8", "Q:b|C:ans=9|R:8")]

    def loss_after(reward):
        with torch.no_grad():
            logits = rm_logits(reward.rm, tok, [p for p, _ in pairs] + [n for _, n in pairs])
        return pairwise_loss(logits[:2], logits[2:]).item()

    def fresh(steps):
        rm = build_rm(make_config("smoke"), tok, seed=0)
        rm.eval()
        return CooperReward(rm, tok, Perturber(), lr=1e-3, steps=steps)

    one, three, repeated = fresh(1), fresh(3), fresh(1)
    s_one, s_three = one.update(pairs), three.update(pairs)
    for _ in range(3):
        repeated.update(pairs)
    assert s_three == s_one  # the statistics are the first step's, before the RM moved
    for a, b in zip(three.rm.parameters(), repeated.rm.parameters(), strict=True):
        assert torch.equal(a, b)
    assert loss_after(three) < loss_after(one) < s_one["rm_loss"]
    with pytest.raises(ValueError, match="steps must be >= 1"):
        fresh(0)
    with pytest.raises(ValueError, match="cooper_rm_steps must be >= 1"):
        make_config("smoke", ["cooper_rm_steps=0"])
