"""RM input format, pairwise loss, hacking-onset detection and the config (hand-worked numbers)."""

import dataclasses
import math

import pytest

from rewardlab.cooper.config import CooperConfig, make_config
from rewardlab.cooper.report import hacking_onset, moving_average
from rewardlab.cooper.rm import format_rm_input


def test_rm_input_format():
    assert format_rm_input("(1+2)*3=", "9", "1+2=3;3*3=9;####9") == "Q:(1+2)*3=|C:1+2=3;3*3=9;####9|R:9"
    long = "x" * 70 + "####9"
    assert format_rm_input("q", "9", long, max_chars=10) == "Q:q|C:xxxxx####9|R:9"  # the tail is kept


def test_rm_encoding_ends_with_eos_and_pads_right():
    pytest.importorskip("torch")
    from rewardlab.cooper.rm import encode_rm
    from rewardlab.cooper.tokenizer import build_tokenizer

    tok = build_tokenizer()
    enc = encode_rm(tok, ["Q:a|R:1|C:####1", "Q:a|R:1|C:1"])
    ids, att = enc["input_ids"], enc["attention_mask"]
    assert ids[0, 0].item() == tok.bos_token_id and ids[0, -1].item() == tok.eos_token_id
    n1 = int(att[1].sum())
    assert ids[1, n1 - 1].item() == tok.eos_token_id and (ids[1, n1:] == tok.pad_token_id).all()
    assert tok.decode(ids[0], skip_special_tokens=True) == "Q:a|R:1|C:####1"


def test_pairwise_loss_hand_worked():
    torch = pytest.importorskip("torch")
    from rewardlab.cooper.rm import pairwise_loss

    # -log sigmoid(2) = log(1 + e^-2) = 0.126928; -log sigmoid(0) = log 2 = 0.693147
    loss = pairwise_loss(torch.tensor([2.0, 1.0]), torch.tensor([0.0, 1.0]))
    assert loss.item() == pytest.approx((0.126928 + 0.693147) / 2, abs=1e-5)
    # shift invariance: only the margin matters
    assert pairwise_loss(torch.tensor([5.0]), torch.tensor([3.0])).item() == pytest.approx(0.126928, abs=1e-5)


def test_moving_average():
    assert moving_average([1, 2, 3, 4], 2) == [1, 1.5, 2.5, 3.5]
    assert moving_average([1, math.nan, 3], 3) == [1, 1, 2]


def test_hacking_onset_hand_worked():
    evals = [
        {"step": 0, "mean_acc": 60},
        {"step": 10, "mean_acc": 64},
        {"step": 20, "mean_acc": 61},
        {"step": 30, "mean_acc": 58},
        {"step": 40, "mean_acc": 50},
    ]
    rising = [0.5 + 0.01 * i for i in range(40)]
    assert (
        hacking_onset(evals, rising, drop=5, window=1) == 30
    )  # 58 <= 64 - 5 and reward above its step-10 value
    falling = [0.9 - 0.01 * i for i in range(40)]
    assert hacking_onset(evals, falling, drop=5, window=1) is None  # accuracy falls but so does the reward
    flat_acc = [{"step": s, "mean_acc": 60} for s in (0, 10, 20)]
    assert hacking_onset(flat_acc, rising, drop=5, window=1) is None


def test_config_help_overrides_and_validation():
    for f in dataclasses.fields(CooperConfig):
        assert f.metadata.get("help"), f.name
    cfg = make_config("smoke", ["grpo_steps=7", "seeds=1,2", "cooper_rm_lr=1e-4", "negatives=perturb"])
    assert cfg.grpo_steps == 7 and cfg.seeds == (1, 2) and cfg.cooper_rm_lr == 1e-4
    assert CooperConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError):
        make_config("full", ["nope=1"])
    with pytest.raises(ValueError):
        CooperConfig(arms=("rule", "magic"))
    with pytest.raises(ValueError):
        CooperConfig(negatives="oracle")


def test_hacking_preset_and_blind_spot_validation():
    from rewardlab.cooper.config import base_fields

    cfg = make_config("hacking")
    assert (cfg.rm_blind_form, cfg.rm_blind_mode, cfg.negatives) == ("ans", "drop", "rollouts")
    assert (cfg.cooper_rm_lr, cfg.cooper_rm_steps) == (1e-4, 4)
    assert set(cfg.arms) == {"rule", "static", "cooper"}
    # the blind spot changes the RM data, so it is part of the shared base; GRPO knobs are not
    assert "rm_blind_form" in base_fields() and "policy_lr" not in base_fields()
    with pytest.raises(ValueError, match="rm_blind_form"):
        CooperConfig(rm_blind_form="latex")
    with pytest.raises(ValueError, match="rm_blind_mode"):
        CooperConfig(rm_blind_mode="flip")
