"""Refuse a reward that is too slow to train, from the probe's timing, before a batch is spent on it.

A training batch compiles its candidates into one program and calls every candidate's reward on every
environment step (under `vmap`, a `switch` over candidates evaluates all branches), so one reward that
takes a second per call does not just time out itself: it holds the whole batch until the batch's time
limit, after which each candidate is retried alone. The probe already runs each reward once on sampled
transitions; `CheckReport.call_seconds` times that call, and `slow_verdict` multiplies it by the number
of calls a training run makes. Only a reward whose estimated reward time alone exceeds the training
time limit is refused, which leaves a margin of several orders of magnitude for ordinary rewards
(microseconds per call) and for the noise of a loaded machine.
"""

from __future__ import annotations

import math

from rewardlab.config import PPOConfig
from rewardlab.sandbox.report import CheckReport

PROBE_TRANSITIONS = 64
"""Transitions per probe call (`probe_many`'s default `n_transitions`)."""


def reward_calls(cfg: PPOConfig, episode_steps: int, probe_transitions: int = PROBE_TRANSITIONS) -> float:
    """How many probe-sized calls of the reward one training run makes, roughly.

    One call per rollout step of the vectorised environments and one per step of every evaluation
    rollout (at most the episode limit per checkpoint), scaled up when a step holds more transitions
    than the probe's call did.
    """
    rollout = cfg.num_updates * cfg.num_steps * max(1.0, cfg.num_envs / probe_transitions)
    evaluation = cfg.n_checkpoints * max(0, episode_steps) * max(1.0, cfg.eval_episodes / probe_transitions)
    return rollout + evaluation


def slow_verdict(report: CheckReport, calls: float, limit_s: float | None) -> CheckReport:
    """`report` unchanged, or a `timeout` failure when its reward alone would outlast `limit_s`."""
    if not report.ok or report.call_seconds is None or limit_s is None or not math.isfinite(calls):
        return report
    estimate = report.call_seconds * calls
    if estimate <= limit_s:
        return report
    return CheckReport.failure(
        "timeout",
        f"the reward is too slow to train: one call on {PROBE_TRANSITIONS} sampled transitions took "
        f"{report.call_seconds:.3g} s, and a training run calls it about {calls:,.0f} times (about "
        f"{_duration(estimate)} in the reward alone), longer than the training time limit of "
        f"{limit_s:g} s. Look for loops (lax.fori_loop, lax.while_loop, lax.scan) or work that grows with "
        "a large constant; a reward should cost microseconds per step.",
        stage="probe",
        name=report.name,
        seconds=report.seconds,
        call_seconds=report.call_seconds,
    )


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
