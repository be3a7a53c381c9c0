"""PPO updates split around the host: rollout (compiled) -> host reward (Python) -> update (compiled).

A host reward source (`rewardlab.rewards.host`: an LLM judge, a VLM scoring frames) cannot run inside
the compiled program, so `ppo_jax` hands trainings that have one to this module instead of compiling
its all-in-one training chunk. Each update becomes three calls:

1. `rollout` (compiled, vmapped over runs): `num_steps` environment steps with the policy, exactly as
   the all-in-one program acts, recording the code reward's total and components and the `Segment`
   data (state, action, true next state before auto-reset, done, env reward);
2. every host source is called once with the whole batch's `Segment` (runs x steps x envs), on the host;
3. `learn` (compiled, vmapped): the step reward is the code total plus the sum of host components;
   then return normalisation, truncation bootstrapping, episode statistics, GAE and the PPO update,
   in the same order and with the same formulas as `ppo_jax`'s `env_step` and `one_update`.

The chunk statistics (episode returns, component mean/min/max) come out in `ChunkStats`, with the host
components after the code components' `width` slots, so `ppo_jax`'s checkpoint records, reports and
reflection read them like any other component. Evaluation is unchanged: it stays compiled, and its
`reward_return` metric counts only the code reward (no LLM is asked during evaluation).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rewardlab.engines import policy as P
from rewardlab.engines.ppo_jax import (
    ChunkStats,
    Program,
    Runner,
    Transition,
    _merge,
    _where,
    compute_gae,
    scale_reward,
    step_stats,
)
from rewardlab.rewards.host import HostReward, Segment, check_output


class StepExtras(NamedTuple):
    """Per-step values the update half needs besides the `Transition` (time-major inside a run)."""

    terminated: jax.Array
    truncated: jax.Array
    v_final: jax.Array  # value of the true final state, for bootstrapping truncations
    env_reward: jax.Array
    code_comps: jax.Array  # (envs, width): the code reward's components


class SegmentData(NamedTuple):
    """What a host source sees of one step (`Segment`'s fields, before conversion to numpy)."""

    states: Any
    actions: jax.Array
    next_states: Any
    done: jax.Array
    env_reward: jax.Array


class HostHalves(NamedTuple):
    rollout: Callable  # (runner) -> (runner, Transition, StepExtras, SegmentData)
    learn: Callable  # (runner, Transition, StepExtras, host_total, host_comps) -> (runner, ChunkStats)


def build_halves(prog: Program, n_host: int) -> HostHalves:
    """The rollout and update halves of one PPO update, per run (the caller vmaps and jits them)."""
    pt = prog.parts
    cfg, torso, spec = pt.cfg, pt.torso, pt.spec
    n_envs, n_steps, obs_dim = cfg.num_envs, cfg.num_steps, pt.obs_dim
    n_comps = pt.width + n_host

    def act(r: Runner, _: None):
        key, k_act, k_step, k_reset = jax.random.split(r.key, 4)
        obs_n = pt.norm_obs(r.obs_stats, r.obs)
        out = P.policy_out(r.params, torso, obs_n, cfg.activation)
        v = P.value(r.params, torso, obs_n, cfg.activation)
        action, logp = P.sample_action(k_act, out, r.params.log_std, spec)
        a_env = P.env_action(action, spec)
        obs_st, s_st, r_env, term, trunc = pt.v_step(jax.random.split(k_step, n_envs), r.env_state, a_env)
        obs_st = obs_st.reshape(n_envs, obs_dim).astype(jnp.float32)
        done = term | trunc
        total, comps = pt.v_reward(r.cand, r.env_state, a_env, s_st, r_env)
        obs_re, s_re = pt.v_reset(jax.random.split(k_reset, n_envs))
        next_state = _where(done, s_re, s_st)
        next_obs = jnp.where(done[:, None], obs_re.reshape(n_envs, obs_dim), obs_st)
        v_final = P.value(r.params, torso, pt.norm_obs(r.obs_stats, obs_st), cfg.activation)
        trans = Transition(obs_n, r.obs, action, logp, v, total, done)
        extras = StepExtras(term, trunc, v_final, r_env, comps)
        seg = SegmentData(r.env_state, a_env, s_st, done, r_env)
        return r._replace(env_state=next_state, obs=next_obs, key=key), (trans, extras, seg)

    def rollout(r: Runner):
        r, (traj, extras, seg) = jax.lax.scan(act, r, None, length=n_steps)
        return r, traj, extras, seg

    def reward_step(carry, t):
        ret_stats, ret_acc, ep, st = carry
        tr, ex, host_total, host_comps = t
        total = tr.reward + host_total
        comps = jnp.concatenate([ex.code_comps, host_comps], axis=-1)
        ret_stats, ret_acc, scaled = scale_reward(cfg, ret_stats, ret_acc, total, tr.done)
        train_reward = scaled + cfg.gamma * ex.v_final * (ex.truncated & ~ex.terminated)
        ep, st = step_stats(ep, st, total, ex.env_reward, comps, tr.done, n_envs)
        return (ret_stats, ret_acc, ep, st), train_reward

    def learn(r: Runner, traj: Transition, extras: StepExtras, host_total: jax.Array, host_comps: jax.Array):
        st0 = ChunkStats.empty(n_comps)
        carry = (r.ret_stats, r.ret_acc, r.episode, st0)
        (ret_stats, ret_acc, ep, st), rewards = jax.lax.scan(
            reward_step, carry, (traj, extras, host_total, host_comps)
        )
        traj = traj._replace(reward=rewards)
        r = r._replace(ret_stats=ret_stats, ret_acc=ret_acc, episode=ep)
        last_v = P.value(r.params, torso, pt.norm_obs(r.obs_stats, r.obs), cfg.activation)
        adv, target = compute_gae(traj.reward, traj.value, traj.done, last_v, cfg.gamma, cfg.gae_lambda)
        key, k_upd = jax.random.split(r.key)
        r = pt.update(r._replace(key=key), traj, adv, target, k_upd)
        if cfg.normalize_obs:
            r = r._replace(obs_stats=r.obs_stats.update(traj.raw_obs.reshape(-1, obs_dim)))
        return r, st

    return HostHalves(rollout, learn)


class HostChunk:
    """A drop-in for the compiled training chunk: `chunk_updates` host-rewarded updates per call.

    Both halves are compiled when the object is built (so `ppo_jax` counts them as compile time);
    `host_seconds` accumulates the time spent in the host sources, for benchmarks.
    """

    def __init__(
        self, prog: Program, runner: Runner, sources: tuple[HostReward, ...], chunk_updates: int
    ) -> None:
        self.sources = sources
        self.chunk_updates = chunk_updates
        n_host = sum(len(src.components) for src in sources)
        halves = build_halves(prog, n_host)
        self.rollout = jax.jit(jax.vmap(halves.rollout)).lower(runner).compile()
        _, traj, extras, seg = jax.eval_shape(jax.vmap(halves.rollout), runner)
        lead = tuple(seg.done.shape)
        host_total = jax.ShapeDtypeStruct(lead, jnp.float32)
        host_comps = jax.ShapeDtypeStruct((*lead, n_host), jnp.float32)
        learn = jax.jit(jax.vmap(halves.learn))
        self.learn = learn.lower(runner, traj, extras, host_total, host_comps).compile()
        self.host_seconds = 0.0

    def host_rewards(self, seg: SegmentData) -> np.ndarray:
        """Every source's components for the batch, stacked on a last axis (runs, steps, envs, n_host)."""
        segment = Segment(
            states=jax.tree.map(np.asarray, seg.states),
            actions=np.asarray(seg.actions),
            next_states=jax.tree.map(np.asarray, seg.next_states),
            done=np.asarray(seg.done),
            env_reward=np.asarray(seg.env_reward),
        )
        t = time.perf_counter()
        cols: list[np.ndarray] = []
        for src in self.sources:
            out = check_output(src, segment, src(segment))
            cols += [out[c] for c in src.components]
        self.host_seconds += time.perf_counter() - t
        return np.stack(cols, axis=-1)

    def __call__(self, runner: Runner) -> tuple[Runner, ChunkStats]:
        acc: ChunkStats | None = None
        for _ in range(self.chunk_updates):
            runner, traj, extras, seg = self.rollout(runner)
            comps = self.host_rewards(seg)
            runner, st = self.learn(runner, traj, extras, comps.sum(axis=-1), comps)
            st = jax.tree.map(np.asarray, st)
            acc = st if acc is None else _merge(acc, st)
        assert acc is not None
        return runner, acc


def host_chunk(
    prog: Program, runner: Runner, sources: tuple[HostReward, ...], chunk_updates: int
) -> HostChunk:
    """The host-rewarded training chunk for `ppo_jax._train_batch` (see `HostChunk`)."""
    return HostChunk(prog, runner, sources, chunk_updates)
