"""A reward too slow to train is refused at the probe, from its measured call time, before it trains.

The probe's timing of real programs is checked with the corpus (tests/sandbox/test_sandbox_corpus.py,
`ok_busy_loop`), which shares its one probe child."""

from __future__ import annotations

import dataclasses

from rewardlab.config import PPOConfig
from rewardlab.sandbox import CheckReport
from rewardlab.sandbox.cost import reward_calls, slow_verdict

FAST = """import jax.numpy as jnp

def compute_reward(state, action, next_state):
    upright = 1.0 - jnp.abs(next_state.theta)
    return upright, {"upright": upright}
"""

def test_reward_calls_counts_rollout_and_evaluation_steps():
    cfg = PPOConfig(total_timesteps=8192, num_envs=4, num_steps=128, n_checkpoints=2, eval_episodes=8)
    assert cfg.num_updates == 16
    assert reward_calls(cfg, episode_steps=500) == 16 * 128 + 2 * 500
    # a step holding more transitions than the probe's call costs proportionally more
    wide = dataclasses.replace(cfg, num_envs=256, num_steps=32, num_minibatches=4)
    assert reward_calls(wide, episode_steps=0) == wide.num_updates * 32 * 4


def test_the_verdict_refuses_only_what_would_outlast_the_limit():
    ok = CheckReport(ok=True, stage="probe", name="c", call_seconds=0.02)
    assert slow_verdict(ok, calls=1000, limit_s=60.0) is ok  # 20 s of reward time: trains
    slow = slow_verdict(ok, calls=10_000, limit_s=60.0)  # 200 s: refused, with the numbers
    assert not slow.ok and slow.kind == "timeout" and slow.name == "c" and slow.stage == "probe"
    assert "0.02 s" in slow.message and "10,000 times" in slow.message and "3 min" in slow.message
    assert "60 s" in slow.message and "/" not in slow.message.split("lax.scan")[0].replace("lax.", "")
    # no timing (a static check, an old run folder), no limit, or a failed check: left alone
    for rep, limit in ((dataclasses.replace(ok, call_seconds=None), 1.0), (ok, None)):
        assert slow_verdict(rep, 1e9, limit) is rep
    failed = CheckReport.failure("trace", "boom", stage="probe")
    assert slow_verdict(failed, 1e9, 1.0) is failed
    # the timing travels with the report through check.json
    assert CheckReport.from_dict(ok.to_dict()).call_seconds == 0.02
