import dataclasses

import pytest

from rewardlab.config import PPOConfig, apply_overrides, field_help


def test_every_field_has_help():
    helps = field_help(PPOConfig)
    assert set(helps) == {f.name for f in dataclasses.fields(PPOConfig)}
    assert all(len(h) > 10 for h in helps.values())


def test_num_updates_is_a_multiple_of_checkpoints():
    cfg = PPOConfig(total_timesteps=100_000, num_envs=8, num_steps=64, n_checkpoints=10)
    # 100_000 / (512 * 10) = 19.53 -> 20 updates per checkpoint interval
    assert cfg.num_updates == 200
    # a small budget is not halved by rounding down: 20_000 / (1024 * 10) = 1.95 -> 2 per interval
    assert PPOConfig(total_timesteps=20_000, num_envs=16, num_steps=64).num_updates == 20
    assert cfg.batch_size == 512


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"num_envs": 0}, "num_envs must be >= 1"),
        ({"num_envs": 3, "num_steps": 5, "num_minibatches": 4}, "divisible"),
        ({"gamma": 1.5}, "gamma"),
        ({"activation": "gelu"}, "activation"),
    ],
)
def test_invalid_config_names_the_problem(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        PPOConfig(**kwargs)


def test_overrides_parse_to_field_types():
    cfg = apply_overrides(
        PPOConfig(), {"lr": "1e-3", "num_envs": "16", "anneal_lr": "false", "hidden": "32,32"}
    )
    assert cfg.lr == 1e-3 and cfg.num_envs == 16 and cfg.anneal_lr is False and cfg.hidden == (32, 32)
    assert apply_overrides(PPOConfig(), {"total_timesteps": "2e5"}).total_timesteps == 200_000


def test_unknown_or_bad_override_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown setting 'lrr'"):
        apply_overrides(PPOConfig(), {"lrr": "1"})
    with pytest.raises(ValueError, match="bad value for num_envs"):
        apply_overrides(PPOConfig(), {"num_envs": "many"})
