"""Reward sources behind the transition-reward contract (see `rewardlab.rewards.program`)."""

from rewardlab.rewards.program import (
    REWARD_FN_NAME,
    RewardFn,
    RewardProgramError,
    load_reward_fn,
    read_program,
)

__all__ = ["REWARD_FN_NAME", "RewardFn", "RewardProgramError", "load_reward_fn", "read_program"]
