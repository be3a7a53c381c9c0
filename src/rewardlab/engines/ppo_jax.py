"""PPO in JAX for a whole batch of reward candidates x seeds, vmapped over runs.

Read top to bottom: records, reward batching, GAE, the per-run program (one environment step, the
PPO update, the fused chunk, greedy evaluation), and the Python driver `train`.

Why it is shaped like this (measured on a 2-core CPU, see benchmarks/engine.py and
benchmarks/compile_split.py):
* environment step, reward and optimiser step all run compiled, with environments `vmap`ped inside a
  run and runs `vmap`ped over (candidate, seed) pairs;
* different reward functions share one program through `lax.switch` on a per-run candidate index, so
  a batch of 16 candidates compiles about as fast as one;
* each update runs as three programs, rollout -> reward -> learn (`rewardlab.engines.split_loop`), of
  which only the small reward program depends on the candidates: the others are compiled once per task,
  config and run count and then come from JAX's persistent cache (a search's next batch compiled in
  0.34x the time of the older fused program, which `fused=True` still builds);
* training runs in chunks of updates with a Python loop between chunks for progress bars, NaN
  checks and evaluation checkpoints.
The environment is auto-reset by hand so that the reward sees the true final state of an episode,
and time-limit truncations are bootstrapped with the value of that final state.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from rewardlab.config import PPOConfig
from rewardlab.engines import policy as P
from rewardlab.engines import warm_start as W
from rewardlab.engines.base import Engine, ProgressInfo
from rewardlab.engines.halving import Halving
from rewardlab.jax_cache import enable_compilation_cache
from rewardlab.rewards.host import HostReward
from rewardlab.rewards.program import RewardFn, TransitionFn, load_reward_fn, transition_fn
from rewardlab.tasks.adapter import reward_state
from rewardlab.tasks.base import Task
from rewardlab.types import Checkpoint, ComponentStats, RewardProgram, TrainResult

# --- records ------------------------------------------------------------------------------------------


class EpisodeAcc(NamedTuple):
    """Running sums of the episode in progress, per environment."""

    reward_return: jax.Array
    env_return: jax.Array
    length: jax.Array


class Runner(NamedTuple):
    """Everything one training run carries between updates (vmapped over runs)."""

    params: P.AgentParams
    opt_state: Any
    env_state: Any
    obs: jax.Array
    obs_stats: P.RunningStats
    ret_stats: P.RunningStats
    ret_acc: jax.Array
    episode: EpisodeAcc
    key: jax.Array
    cand: jax.Array


class Transition(NamedTuple):
    obs: jax.Array  # normalised observation the policy saw
    raw_obs: jax.Array
    action: jax.Array
    logp: jax.Array
    value: jax.Array
    reward: jax.Array
    done: jax.Array


class EpisodeStats(NamedTuple):
    """Episodes that finished during a chunk: how many, and the sums of their returns and lengths."""

    episodes: jax.Array
    reward_return: jax.Array
    env_return: jax.Array
    length: jax.Array

    @staticmethod
    def empty() -> EpisodeStats:
        zero = jnp.float32(0.0)
        return EpisodeStats(zero, zero, zero, zero)


class CompStats(NamedTuple):
    """Per-component sum, min and max over every step of a chunk, and the number of steps counted."""

    sum: jax.Array
    min: jax.Array
    max: jax.Array
    count: jax.Array

    @staticmethod
    def empty(width: int) -> CompStats:
        """No step yet, for `width` components (min/max start at +/- infinity)."""
        return CompStats(
            jnp.zeros((width,)), jnp.full((width,), jnp.inf), jnp.full((width,), -jnp.inf), jnp.float32(0.0)
        )

    @staticmethod
    def of(comps: jax.Array) -> CompStats:
        """The statistics of a block of component vectors (any leading axes, components last)."""
        flat = comps.reshape(-1, comps.shape[-1])
        return CompStats(
            jnp.sum(flat, axis=0), jnp.min(flat, axis=0), jnp.max(flat, axis=0), jnp.float32(flat.shape[0])
        )

    def add(self, other: CompStats) -> CompStats:
        return CompStats(
            self.sum + other.sum,
            jnp.minimum(self.min, other.min),
            jnp.maximum(self.max, other.max),
            self.count + other.count,
        )


class ChunkStats(NamedTuple):
    """Training statistics of one chunk, as the driver reads them (numpy, one row per run)."""

    episodes: EpisodeStats
    comps: CompStats


class StepData(NamedTuple):
    """What a rollout step records, besides its `Transition`, to turn a reward into a training signal."""

    terminated: jax.Array
    truncated: jax.Array
    v_final: jax.Array  # value of the true final state, for bootstrapping truncations
    env_reward: jax.Array


class SegmentData(NamedTuple):
    """The transitions a reward is computed from (a `rewards.host.Segment` before conversion to numpy).

    States are what rewards see (`tasks.adapter.reward_state`), not the environment's carried state:
    every step of a rollout is kept until the reward runs, so a slim view (Brax) keeps it small."""

    states: Any
    actions: jax.Array
    next_states: Any  # the true next states, before any auto-reset
    done: jax.Array
    env_reward: jax.Array


class EvalOut(NamedTuple):
    fitness: jax.Array
    metrics: dict[str, jax.Array]
    env_return: jax.Array
    length: jax.Array


# --- reward batching ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedReward:
    name: str
    fn: TransitionFn | None
    components: tuple[str, ...]
    error: str = ""


def _sample_transition(task: Task) -> tuple[Any, Any, Any, Any]:
    """The shapes of one (state, action, next_state, env_reward) transition of the task's environment,
    states as rewards see them (`reward_state`).

    Shapes only (`jax.eval_shape`): stepping the environment eagerly dispatches and compiles every
    operation one by one, which cost ~3 s a batch on CartPole, while a reward's contract check needs
    nothing but shapes. The environment is built outside the trace: some build arrays on first use (e.g.
    DeepSea's action mapping), and built inside it they would be tracers that leak into later programs."""
    env = task.env
    env.action_spec  # noqa: B018  (built eagerly too, for the same reason)

    def step() -> tuple[Any, Any, Any, Any]:
        k1, k2 = jax.random.split(jax.random.PRNGKey(0))
        _, s = env.reset(k1)
        a = env.action_spec.zero_action()
        out = env.step(k2, s, a)
        return reward_state(env, s), a, reward_state(env, out.state), out.env_reward

    return jax.eval_shape(step)


def prepare_rewards(
    task: Task, named_fns: Sequence[tuple[str, RewardFn]], sample: tuple[Any, Any, Any, Any] | None = None
) -> list[PreparedReward]:
    """Trace each reward alone with `jax.eval_shape`; a failing one becomes an error record.

    One bad candidate must never take down the compiled batch, so every candidate is checked
    for the contract's shapes before it is batched with others. `sample` is one (state, action,
    next_state, env_reward) transition (arrays or shape structures); default: one traced environment step.
    """
    s, a, ns, r = sample if sample is not None else _sample_transition(task)
    out: list[PreparedReward] = []
    for name, raw in named_fns:
        try:
            fn = transition_fn(raw)
            total, comps = jax.eval_shape(fn, s, a, ns, r)
            if math.prod(getattr(total, "shape", ())) != 1:
                raise ValueError(f"total must be a scalar, got shape {total.shape}")
            if not isinstance(comps, dict):
                raise ValueError(f"components must be a dict of scalars, got {type(comps).__name__}")
            for k, v in comps.items():
                if not isinstance(k, str):
                    raise ValueError(f"component names must be strings, got {k!r}")
                if math.prod(getattr(v, "shape", ())) != 1:
                    raise ValueError(f"component {k!r} must be a scalar, got shape {v.shape}")
            out.append(PreparedReward(name, fn, tuple(sorted(comps))))
        except Exception as exc:  # any trace failure is the candidate's fault, reported as such
            out.append(PreparedReward(name, None, (), error=f"{type(exc).__name__}: {exc}"))
    return out


def _branch(fn: TransitionFn, names: tuple[str, ...], width: int) -> Callable:
    def branch(s, a, ns, r):
        total, comps = fn(s, a, ns, r)
        vals = [jnp.reshape(jnp.asarray(comps[n], jnp.float32), ()) for n in names]
        vals += [jnp.float32(0.0)] * (width - len(names))
        vec = jnp.stack(vals) if vals else jnp.zeros((0,), jnp.float32)
        return jnp.reshape(jnp.asarray(total, jnp.float32), ()), vec

    return branch


def batched_reward(prepared: Sequence[PreparedReward], width: int) -> Callable:
    """(candidate index, state, action, next_state, env reward) -> (total, fixed-width component vector)."""
    branches = [_branch(p.fn, p.components, width) for p in prepared]
    if len(branches) == 1:
        only = branches[0]
        return lambda idx, s, a, ns, r: only(s, a, ns, r)
    return lambda idx, s, a, ns, r: jax.lax.switch(idx, branches, s, a, ns, r)


# --- environment helpers ------------------------------------------------------------------------------


def _where(mask: jax.Array, a: Any, b: Any) -> Any:
    """Per-environment select over pytrees whose leaves have a leading env axis."""

    def sel(x, y):
        m = jnp.reshape(mask, mask.shape + (1,) * (x.ndim - mask.ndim))
        return jnp.where(m, x, y)

    return jax.tree.map(sel, a, b)


# --- advantages ---------------------------------------------------------------------------------------


def scale_reward(
    cfg: PPOConfig, ret_stats: P.RunningStats, ret_acc: jax.Array, total: jax.Array, done: jax.Array
) -> tuple[P.RunningStats, jax.Array, jax.Array]:
    """(return statistics, running discounted return, reward to train on): the reward divided by the
    running standard deviation of discounted returns when the config normalises rewards, else as is.
    Shared by the fused program and the split one (`engines.split_loop`), so both train on the same."""
    if not cfg.normalize_reward:
        return ret_stats, ret_acc, total
    ret_acc = ret_acc * cfg.gamma + total
    ret_stats = ret_stats.update(ret_acc)
    scaled = total / jnp.sqrt(ret_stats.var + 1e-8)
    return ret_stats, jnp.where(done, 0.0, ret_acc), scaled


def episode_stats(
    ep: EpisodeAcc, st: EpisodeStats, total: jax.Array, env_reward: jax.Array, done: jax.Array
) -> tuple[EpisodeAcc, EpisodeStats]:
    """One vector step added to the running episodes; finished ones are counted and reset to zero."""
    ep = EpisodeAcc(ep.reward_return + total, ep.env_return + env_reward, ep.length + 1)
    d = done.astype(jnp.float32)
    st = EpisodeStats(
        episodes=st.episodes + jnp.sum(d),
        reward_return=st.reward_return + jnp.sum(d * ep.reward_return),
        env_return=st.env_return + jnp.sum(d * ep.env_return),
        length=st.length + jnp.sum(d * ep.length),
    )
    return jax.tree.map(lambda x: jnp.where(done, 0.0, x), ep), st


def compute_gae(
    rewards: jax.Array, values: jax.Array, dones: jax.Array, last_value: jax.Array, gamma: float, lam: float
) -> tuple[jax.Array, jax.Array]:
    """Generalised advantage estimates and value targets over a rollout (time is the leading axis).

    `dones[t]` marks that the episode ended at step t, so step t+1 belongs to a new episode and
    nothing is bootstrapped across the boundary (truncations are bootstrapped in the reward).
    """

    def step(carry, t):
        next_adv, next_value = carry
        reward, value, done = t
        nonterminal = 1.0 - done.astype(jnp.float32)
        delta = reward + gamma * next_value * nonterminal - value
        adv = delta + gamma * lam * nonterminal * next_adv
        return (adv, value), adv

    _, adv = jax.lax.scan(
        step, (jnp.zeros_like(last_value), last_value), (rewards, values, dones), reverse=True
    )
    return adv, adv + values


# --- the program --------------------------------------------------------------------------------------


class Parts(NamedTuple):
    """The per-run pieces of one PPO update, compiled separately by `rewardlab.engines.split_loop`.

    `rollout` and `learn` never see a reward function, so their compiled programs are the same for every
    batch of candidates on a task and config (only the run count matters): JAX's persistent cache serves
    them to every batch after the first, and only the small reward program compiles anew.
    """

    rollout: Callable  # (runner) -> (runner, Transition, StepData, SegmentData); time-major, no reward yet
    learn: Callable  # (runner, Transition, StepData, total reward [steps, envs]) -> (runner, EpisodeStats)


class Program(NamedTuple):
    init: Callable  # (key, cand) -> Runner
    chunk: Callable | None  # (runner) -> (runner, ChunkStats): the fused chunk; None without a reward
    evaluate: Callable  # (runner, key) -> EvalOut
    parts: Parts


def build_program(
    task: Task, cfg: PPOConfig, reward: Callable | None, width: int, chunk_updates: int
) -> Program:
    """The per-run functions (init, training chunk, evaluation, and the update's reward-free halves).

    `train` vmaps and jits them. `reward` ((candidate, state, action, next_state, env reward) -> (total,
    components)) is only needed for the fused `chunk`, which steps, rewards and updates in one program.
    """
    env = task.env
    spec = env.action_spec
    torso = P.make_torso(cfg.torso, env.obs_shape, cfg.hidden, cfg.conv, cfg.conv_stride)
    obs_dim = torso.obs_dim
    n_envs, n_steps = cfg.num_envs, cfg.num_steps
    total_opt_steps = cfg.num_updates * cfg.update_epochs * cfg.num_minibatches
    lr = optax.linear_schedule(cfg.lr, 0.0, total_opt_steps) if cfg.anneal_lr else cfg.lr
    optimizer = optax.chain(optax.clip_by_global_norm(cfg.max_grad_norm), optax.adam(lr, eps=1e-5))
    max_eval_steps = env.max_episode_steps
    v_step = jax.vmap(env.step)
    v_reset = jax.vmap(env.reset)
    v_view = jax.vmap(lambda state: reward_state(env, state))  # what rewards and signals see
    v_signals = jax.vmap(task.episode_signals)

    def norm_obs(stats: P.RunningStats, obs: jax.Array) -> jax.Array:
        return stats.normalize(obs) if cfg.normalize_obs else obs

    def init(key: jax.Array, cand: jax.Array) -> Runner:
        k_params, k_env, k_run = jax.random.split(key, 3)
        params = P.agent_init(k_params, torso, spec, cfg.log_std_init)
        obs, env_state = v_reset(jax.random.split(k_env, n_envs))
        zeros = jnp.zeros((n_envs,), jnp.float32)
        return Runner(
            params=params,
            opt_state=optimizer.init(params),
            env_state=env_state,
            obs=obs.reshape(n_envs, obs_dim).astype(jnp.float32),
            obs_stats=P.RunningStats.create((obs_dim,)),
            ret_stats=P.RunningStats.create(()),
            ret_acc=zeros,
            episode=EpisodeAcc(zeros, zeros, zeros),
            key=k_run,
            cand=cand,
        )

    def act(r: Runner) -> tuple[Runner, tuple[Transition, StepData, SegmentData]]:
        """One vector step of the policy (auto-reset by hand); the reward is filled in later."""
        key, k_act, k_step, k_reset = jax.random.split(r.key, 4)
        obs_n = norm_obs(r.obs_stats, r.obs)
        out = P.policy_out(r.params, torso, obs_n, cfg.activation)
        v = P.value(r.params, torso, obs_n, cfg.activation)
        action, logp = P.sample_action(k_act, out, r.params.log_std, spec)
        a_env = P.env_action(action, spec)
        obs_st, s_st, r_env, term, trunc = v_step(jax.random.split(k_step, n_envs), r.env_state, a_env)
        obs_st = obs_st.reshape(n_envs, obs_dim).astype(jnp.float32)
        done = term | trunc
        obs_re, s_re = v_reset(jax.random.split(k_reset, n_envs))
        next_state = _where(done, s_re, s_st)
        next_obs = jnp.where(done[:, None], obs_re.reshape(n_envs, obs_dim), obs_st)
        # The value of the true final state, to bootstrap time-limit truncations.
        v_final = P.value(r.params, torso, norm_obs(r.obs_stats, obs_st), cfg.activation)
        trans = Transition(obs_n, r.obs, action, logp, v, jnp.zeros_like(v), done)
        data = StepData(term, trunc, v_final, r_env)
        seg = SegmentData(v_view(r.env_state), a_env, v_view(s_st), done, r_env)
        return r._replace(env_state=next_state, obs=next_obs, key=key), (trans, data, seg)

    def reward_step(
        carry: tuple[P.RunningStats, jax.Array, EpisodeAcc, EpisodeStats],
        step: tuple[jax.Array, StepData, jax.Array],
    ):
        """A step's reward into the reward to train on (scaled, truncations bootstrapped) and the stats."""
        ret_stats, ret_acc, ep, st = carry
        total, data, done = step
        ret_stats, ret_acc, scaled = scale_reward(cfg, ret_stats, ret_acc, total, done)
        train_reward = scaled + cfg.gamma * data.v_final * (data.truncated & ~data.terminated)
        ep, st = episode_stats(ep, st, total, data.env_reward, done)
        return (ret_stats, ret_acc, ep, st), train_reward

    def loss_fn(params: P.AgentParams, batch: Transition, adv: jax.Array, target: jax.Array):
        out = P.policy_out(params, torso, batch.obs, cfg.activation)
        logp = P.log_prob(out, params.log_std, batch.action, spec)
        ratio = jnp.exp(logp - batch.logp)
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        actor = -jnp.mean(jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - cfg.clip_eps, 1 + cfg.clip_eps) * adv))
        v = P.value(params, torso, batch.obs, cfg.activation)
        v_clip = batch.value + jnp.clip(v - batch.value, -cfg.clip_eps, cfg.clip_eps)
        critic = 0.5 * jnp.mean(jnp.maximum((v - target) ** 2, (v_clip - target) ** 2))
        ent = jnp.mean(P.entropy(out, params.log_std, spec))
        return actor + cfg.vf_coef * critic - cfg.ent_coef * ent

    grad_fn = jax.grad(loss_fn)

    def update(r: Runner, traj: Transition, adv: jax.Array, target: jax.Array, key: jax.Array) -> Runner:
        batch_size = n_envs * n_steps
        flat = jax.tree.map(lambda x: x.reshape((batch_size, *x.shape[2:])), (traj, adv, target))

        def epoch(carry, k):
            params, opt_state = carry
            perm = jax.random.permutation(k, batch_size)
            mbs = jax.tree.map(
                lambda x: jnp.take(x, perm, axis=0).reshape((cfg.num_minibatches, -1, *x.shape[1:])), flat
            )

            def minibatch(c, mb):
                p, o = c
                grads = grad_fn(p, *mb)
                updates, o = optimizer.update(grads, o, p)
                return (optax.apply_updates(p, updates), o), None

            return jax.lax.scan(minibatch, (params, opt_state), mbs)[0], None

        (params, opt_state), _ = jax.lax.scan(
            epoch, (r.params, r.opt_state), jax.random.split(key, cfg.update_epochs)
        )
        return r._replace(params=params, opt_state=opt_state)

    def optimise(r: Runner, traj: Transition) -> Runner:
        """GAE over the rollout (rewards filled in), the PPO epochs, then the observation statistics."""
        last_v = P.value(r.params, torso, norm_obs(r.obs_stats, r.obs), cfg.activation)
        adv, target = compute_gae(traj.reward, traj.value, traj.done, last_v, cfg.gamma, cfg.gae_lambda)
        key, k_upd = jax.random.split(r.key)
        r = update(r._replace(key=key), traj, adv, target, k_upd)
        if cfg.normalize_obs:
            r = r._replace(obs_stats=r.obs_stats.update(traj.raw_obs.reshape(-1, obs_dim)))
        return r

    def rollout(r: Runner):
        r, (traj, data, seg) = jax.lax.scan(lambda c, _: act(c), r, None, length=n_steps)
        return r, traj, data, seg

    def learn(r: Runner, traj: Transition, data: StepData, total: jax.Array):
        carry = (r.ret_stats, r.ret_acc, r.episode, EpisodeStats.empty())
        (ret_stats, ret_acc, ep, st), rewards = jax.lax.scan(reward_step, carry, (total, data, traj.done))
        r = r._replace(ret_stats=ret_stats, ret_acc=ret_acc, episode=ep)
        return optimise(r, traj._replace(reward=rewards)), st

    chunk = None
    if reward is not None:
        v_reward = jax.vmap(reward, in_axes=(None, 0, 0, 0, 0))

        def env_step(carry: tuple[Runner, EpisodeStats, CompStats], _: None):
            r, est, cst = carry
            r2, (trans, data, seg) = act(r)
            total, comps = v_reward(r.cand, seg.states, seg.actions, seg.next_states, seg.env_reward)
            inner = (r2.ret_stats, r2.ret_acc, r2.episode, est)
            (ret_stats, ret_acc, ep, est), train_reward = reward_step(inner, (total, data, seg.done))
            r2 = r2._replace(ret_stats=ret_stats, ret_acc=ret_acc, episode=ep)
            return (r2, est, cst.add(CompStats.of(comps))), trans._replace(reward=train_reward)

        def one_update(carry: tuple[Runner, EpisodeStats, CompStats], _: None):
            (r, est, cst), traj = jax.lax.scan(env_step, carry, None, length=n_steps)
            return (optimise(r, traj), est, cst), None

        def fused_chunk(r: Runner) -> tuple[Runner, ChunkStats]:
            carry = (r, EpisodeStats.empty(), CompStats.empty(width))
            (r, est, cst), _ = jax.lax.scan(one_update, carry, None, length=chunk_updates)
            return r, ChunkStats(est, cst)

        chunk = fused_chunk

    def evaluate(r: Runner, key: jax.Array) -> EvalOut:
        n = cfg.eval_episodes
        k_reset, k_steps = jax.random.split(key)
        obs, state = v_reset(jax.random.split(k_reset, n))
        view0 = v_view(state)
        sig0 = v_signals(view0, jnp.zeros((n,)), view0, jnp.zeros((n,), bool))
        zeros = jnp.zeros((n,), jnp.float32)
        acc0 = {
            "length": zeros,
            "env_return": zeros,
            "terminated": jnp.zeros((n,), bool),
            "ended": jnp.zeros((n,), bool),
            **{k: jnp.zeros_like(v, jnp.float32) for k, v in sig0.items()},
        }

        def step(carry, k):
            obs, state, acc = carry
            obs_n = norm_obs(r.obs_stats, obs.reshape(n, obs_dim))
            out = P.policy_out(r.params, torso, obs_n, cfg.activation)
            if cfg.eval_greedy:
                action = P.greedy_action(out, spec)
            else:
                k, k_act = jax.random.split(k)
                action, _ = P.sample_action(k_act, out, r.params.log_std, spec)
            a_env = P.env_action(action, spec)
            obs2, state2, r_env, term, trunc = v_step(jax.random.split(k, n), state, a_env)
            live = ~acc["ended"]
            lf = live.astype(jnp.float32)
            sig = v_signals(v_view(state), a_env, v_view(state2), term)
            acc = {
                **acc,
                "length": acc["length"] + lf,
                "env_return": acc["env_return"] + lf * r_env,
                "terminated": acc["terminated"] | (live & term),
                "ended": acc["ended"] | (live & (term | trunc)),
                **{k2: acc[k2] + lf * v for k2, v in sig.items()},
            }
            return (obs2, state2, acc), None

        (_, _, acc), _ = jax.lax.scan(step, (obs, state, acc0), jax.random.split(k_steps, max_eval_steps))
        fitness, metrics = task.fitness(acc)
        return EvalOut(
            jnp.asarray(fitness, jnp.float32),
            {k: jnp.asarray(v, jnp.float32) for k, v in metrics.items()},
            jnp.mean(acc["env_return"]),
            jnp.mean(acc["length"]),
        )

    return Program(init, chunk, evaluate, Parts(rollout, learn))


# --- the driver ---------------------------------------------------------------------------------------


def _chunk_updates(per_checkpoint: int) -> int:
    """Largest divisor of the checkpoint interval that still gives a few progress ticks per interval."""
    target = max(1, math.ceil(per_checkpoint / 4))
    return max(d for d in range(1, target + 1) if per_checkpoint % d == 0)


def run_slots(n: int) -> int:
    """The run count a batch of `n` runs is padded to: 2, 3, 4, 6, 8, 12, 16, 24, 32, ... (powers of two
    and three times powers of two), so that batches of nearby sizes share compiled programs, at most a
    third of the batch's training is spent on padding, and a lone run is computed as in any batch."""
    base = 2
    while True:
        for size in (base, base * 3 // 2):
            if size >= n:
                return size
        base *= 2


def init_runs(init: Callable[..., Any], keys: jax.Array, cands: jax.Array) -> Any:
    """Every run's initial state, one run at a time inside one compiled program (`lax.map`).

    Not `vmap`: the orthogonal weight init calls LAPACK QR, and jaxlib's CPU QR kernel splits a batch
    of matrices over the intra-op thread pool and blocks until the pieces are done. When two such
    kernels run at once (two layers' inits are independent) on a 2-thread pool, each holds a thread
    while waiting for work queued behind the other: a deadlock, seen as a training that never starts
    with every thread idle. With one matrix per call the kernel runs inline. `init_hlo` exposes the
    compiled text so a test can check that no batched QR remains.
    """
    return init_fn(init)(keys, cands)


def init_fn(init: Callable[..., Any]) -> Any:
    """`init` over a batch of (key, candidate index) pairs, jitted, one run at a time (see `init_runs`)."""
    return jax.jit(lambda k, c: jax.lax.map(lambda kc: init(*kc), (k, c)))


def init_hlo(init: Callable[..., Any], keys: jax.Array, cands: jax.Array) -> str:
    """The optimised HLO text of `init_runs` for these arguments (for tests)."""
    return init_fn(init).lower(keys, cands).compile().as_text()


def finite_params(tree: Any) -> jax.Array:
    """Whether every floating-point leaf of `tree` is finite (one run's parameters)."""
    leaves = [
        jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.floating)
    ]
    return jnp.all(jnp.stack(leaves))


def train(
    task: Task,
    rewards: Sequence[RewardProgram],
    config: PPOConfig | None = None,
    seeds: Sequence[int] = (0,),
    progress: Callable[[ProgressInfo], None] | None = None,
    pad_single: bool = True,
    host: Sequence[HostReward] = (),
    fused: bool = False,
    *,
    warm_start: W.WarmStart | None = None,
    save_dir: str | Path | None = None,
    halving: Halving | None = None,
) -> list[TrainResult]:
    """Train every (reward, seed) pair in one batch of vmapped runs; results in candidate-major order.

    Rewards are trusted programs executed in this process (built-in baselines, the user's own
    files). LLM-written code must be checked and trained through `rewardlab.sandbox` instead.
    See `train_fns` for `pad_single`, `host`, `fused`, `warm_start`, `save_dir` and `halving`.
    """
    named = [(prog.name, load_reward_fn(prog)) for prog in rewards]
    return train_fns(
        task, named, config, seeds, progress, pad_single, host, fused,
        warm_start=warm_start, save_dir=save_dir, halving=halving,
    )


def train_fns(
    task: Task,
    named_fns: Sequence[tuple[str, RewardFn]],
    config: PPOConfig | None = None,
    seeds: Sequence[int] = (0,),
    progress: Callable[[ProgressInfo], None] | None = None,
    pad_single: bool = True,
    host: Sequence[HostReward] = (),
    fused: bool = False,
    *,
    warm_start: W.WarmStart | None = None,
    save_dir: str | Path | None = None,
    halving: Halving | None = None,
) -> list[TrainResult]:
    """`train` for reward callables that are already loaded.

    Each update runs as rollout -> reward -> learn (`rewardlab.engines.split_loop`): only the reward
    program is compiled per batch; the rest is the same program for every batch on this task and config,
    served by the compilation cache. `fused=True` compiles the older single program that steps, rewards
    and updates together instead (same numbers up to float rounding in the reward; kept as the
    benchmark's baseline; not with `host`).

    A run's numbers never depend on which other runs share its batch: XLA computes every batch of two
    or more runs identically per run. By default (`pad_single`) the batch is padded with throw-away
    copies of its first run to the next of a few fixed sizes (`run_slots`: 2, 3, 4, 6, 8, 12, ...), so
    that batches of nearby sizes share compiled programs and a lone run keeps its in-batch numbers
    (a batch of exactly one is compiled differently: XLA drops the size-1 axis). `pad_single=False`
    trains exactly the runs asked for (host trainings use it: padding would multiply an LLM's work).

    `host` adds host reward sources (`rewardlab.rewards.host`: an LLM judge, a VLM) to every run's reward:
    every source is called once per update on the whole batch's segment, here in Python. A step's reward
    is the code reward's total plus the sum of the host components; the host components are recorded at
    each checkpoint beside the code reward's, and each source's `stats()` goes into every result's
    `extra["host_rewards"]`.

    `warm_start` (`engines.warm_start.WarmStart.load(path)`) starts every run from a saved state: the
    policy, optimiser state and observation statistics replace the init's (after the shared init program,
    so nothing new compiles); environments, keys and return statistics start fresh, and the step count,
    checkpoint schedule and learning-rate schedule start at 0 for this budget. It is checked against the
    task and config first (`WarmStartError`, a ValueError, before anything compiles). Each run's policy
    is evaluated once before training, on the saved run's last evaluation episodes:
    `extra["warm_start"]["start_fitness"]` (not a checkpoint: fitness stays what this reward trained).

    `save_dir` writes each finished run's state to `save_dir/<reward>_seed<seed>.policy.npz` (runs that
    diverged are not saved), named in `extra["policy"]`.

    `halving` (`engines.halving.Halving`) is successive halving inside this batch: after each of its
    checkpoint numbers, only the better part of the candidates (mean over seeds of the best fitness so
    far) go on training; the runner's survivors are gathered and continue with the programs for the
    smaller run count (padded by `run_slots` as usual), so a survivor trains exactly as without halving.
    A dropped run's result is an ordinary "ok" result with the checkpoints it reached,
    `env_steps` = the step it stopped at, `extra["halved_at"]` the same, and a message saying so; its
    state is not saved (`save_dir`). Split program only (not `fused`).
    """
    if not named_fns:
        raise ValueError("train needs at least one reward")
    if not seeds:
        raise ValueError("train needs at least one seed")
    host = tuple(host)
    for src in host:
        if not isinstance(src, HostReward):
            raise TypeError(f"{type(src).__name__} is not a host reward source (rewardlab.rewards.host)")
    if host and fused:
        raise ValueError("host reward sources need the split program (fused=False)")
    if halving is not None and fused:
        raise ValueError("halving needs the split program (fused=False)")
    cfg = config or task.ppo
    if halving is not None:
        if not isinstance(halving, Halving):
            raise TypeError(f"halving must be an engines.halving.Halving, got {type(halving).__name__}")
        halving.check(cfg.n_checkpoints)
    enable_compilation_cache()
    if warm_start is not None:
        warm_start.check(task, cfg)
    prepared = prepare_rewards(task, named_fns)
    good = [p for p in prepared if p.fn is not None]
    results: dict[tuple[str, int], TrainResult] = {}
    for p in prepared:
        if p.fn is None:
            for s in seeds:
                results[(p.name, s)] = TrainResult(p.name, s, "error", (), 0, 0.0, 0.0, message=p.error)
    if host:
        _check_host_names(host, good)
    if good:
        save = Path(save_dir) if save_dir is not None else None
        batch = _train_batch(
            task, cfg, good, list(seeds), progress, pad_single, host, fused, warm_start, save, halving
        )
        for res in batch:
            results[(res.candidate, res.seed)] = res
    return [results[(p.name, s)] for p in prepared for s in seeds]


class _Programs(NamedTuple):
    runner: Any
    chunk: Callable[[Any], tuple[Any, ChunkStats]]
    evaluate: Callable[[Any, jax.Array], EvalOut]
    finite: Callable[[Any], jax.Array]


def _programs(
    task: Task,
    cfg: PPOConfig,
    prepared: list[PreparedReward],
    width: int,
    chunk_updates: int,
    keys: jax.Array,
    cands: jax.Array,
    host: tuple[HostReward, ...],
    fused: bool,
) -> _Programs:
    """The initial runner and the compiled chunk, evaluation and NaN check for this batch."""
    reward = batched_reward(prepared, width)
    if not fused:
        progs = split_loop.compiled_programs(task, cfg, int(keys.shape[0]))
        chunk = split_loop.SplitChunk(progs, reward, chunk_updates, host)
        return _Programs(progs.init(keys, cands), chunk, progs.evaluate, progs.finite)
    prog = build_program(task, cfg, reward, width, chunk_updates)
    runner = init_runs(prog.init, keys, cands)
    return _Programs(
        runner,
        jax.jit(jax.vmap(prog.chunk)).lower(runner).compile(),
        jax.jit(jax.vmap(prog.evaluate)).lower(runner, keys).compile(),
        jax.jit(jax.vmap(finite_params)).lower(runner.params).compile(),
    )


def _train_batch(
    task: Task,
    cfg: PPOConfig,
    prepared: list[PreparedReward],
    seeds: list[int],
    progress: Callable[[ProgressInfo], None] | None,
    pad: bool,
    host: tuple[HostReward, ...] = (),
    fused: bool = False,
    warm: W.WarmStart | None = None,
    save_dir: Path | None = None,
    halving: Halving | None = None,
) -> list[TrainResult]:
    width = max(1, max(len(p.components) for p in prepared))
    host_names = tuple(c for src in host for c in src.components)
    per_cp = cfg.num_updates // cfg.n_checkpoints
    chunk_updates = _chunk_updates(per_cp)
    chunks_per_cp = per_cp // chunk_updates

    runs = [(ci, s) for ci in range(len(prepared)) for s in seeds]
    n_real = len(runs)
    if pad:
        runs += [runs[0]] * (run_slots(n_real) - n_real)
    keys = jnp.stack([jax.random.PRNGKey(s) for _, s in runs])
    cands = jnp.asarray([ci for ci, _ in runs], jnp.int32)
    # The runner's rows: which run each trains (-1: padding) and with which seed's evaluation episodes.
    # They change only when halving drops runs.
    rows = [i if i < n_real else -1 for i in range(len(runs))]
    row_seeds = [s for _, s in runs]

    t0 = time.perf_counter()
    progs = _programs(task, cfg, prepared, width, chunk_updates, keys, cands, host, fused)
    runner, chunk_fn = progs.runner, progs.chunk
    first_chunk = chunk_fn
    # every run count halving will cut the batch to, compiled now: a rung then only gathers rows (a
    # compile there would be a long silence between progress lines that the sandbox's watchdog may take
    # for a hung child)
    later = (
        _halving_programs(task, cfg, len(prepared), len(seeds), pad, halving, chunk_fn)
        if halving is not None
        else {}
    )
    jax.block_until_ready(runner)
    compile_s = time.perf_counter() - t0
    start_fitness = None
    if warm is not None:
        runner = W.apply(runner, warm)
        start = progs.evaluate(runner, _eval_keys(row_seeds, W.final_eval_index(warm)))
        start_fitness = np.asarray(start.fitness)

    n = len(runs)
    checkpoints: list[list[Checkpoint]] = [[] for _ in range(n_real)]
    failed_at: list[int | None] = [None] * n_real
    halved: dict[int, tuple[int, float]] = {}  # run -> (env step, training seconds) where halving stopped it
    steps_per_chunk = chunk_updates * cfg.batch_size
    train_s = 0.0
    best: float | None = None
    total_steps = cfg.num_updates * cfg.batch_size
    chunks_done = 0
    for cp in range(cfg.n_checkpoints):
        acc: ChunkStats | None = None
        for _ in range(chunks_per_cp):
            t = time.perf_counter()
            runner, st = chunk_fn(runner)
            st = jax.tree.map(np.asarray, st)
            train_s += time.perf_counter() - t
            chunks_done += 1
            acc = st if acc is None else merge_stats(acc, st)
            if progress is not None:
                progress(ProgressInfo(chunks_done * steps_per_chunk, total_steps, None, best))
        assert acc is not None
        finite = np.asarray(progs.finite(runner.params))
        ev = jax.tree.map(np.asarray, progs.evaluate(runner, _eval_keys(row_seeds, cp)))
        step = (cp + 1) * per_cp * cfg.batch_size
        for row, i in enumerate(rows):
            if i < 0 or failed_at[i] is not None:
                continue
            if not finite[row]:
                failed_at[i] = step
                continue
            ci = runs[i][0]
            slots = list(enumerate(prepared[ci].components))
            slots += [(width + k, name) for k, name in enumerate(host_names)]
            checkpoints[i].append(_checkpoint(step, train_s, slots, ev, acc, row))
            f = float(ev.fitness[row])
            if math.isfinite(f):
                best = f if best is None else max(best, f)
        if progress is not None:
            progress(ProgressInfo(step, total_steps, cp, best))
        if all(failed_at[i] is not None for i in rows if i >= 0):
            break
        if halving is not None and cp + 1 in halving.after:
            keep_rows = _halve(halving, runs, rows, checkpoints)
            for i in rows:
                if i >= 0 and i not in keep_rows:
                    halved[i] = (step, train_s)
            if len(keep_rows) < len(rows):
                runner, rows, row_seeds = _gather_runs(pad, runner, rows, keep_rows, runs)
                progs = later[len(rows)]
                chunk_fn = progs.chunk

    extra: dict[str, Any] = {
        "batch_runs": n_real,
        "run_slots": n,
        "program": "fused" if fused else "split",
        "device": jax.devices()[0].device_kind,  # which processor trained it: "cpu", "NVIDIA H200", ...
    }
    if halving is not None:
        extra["halving"] = halving.to_dict()
        extra["budget_steps"] = total_steps  # what a run not stopped by halving trains
    if host:
        extra["host_rewards"] = {_source_name(src): dict(src.stats()) for src in host}
        used = [first_chunk, *(p.chunk for p in later.values())]
        extra["host_seconds"] = round(sum(float(getattr(c, "host_seconds", 0.0)) for c in used), 3)
    results = []
    written: set[Path] = set()
    for i, (ci, seed) in enumerate(runs[:n_real]):
        nan_at = failed_at[i]
        stop = halved.get(i)
        run_extra = dict(extra)
        if warm is not None and start_fitness is not None:
            run_extra["warm_start"] = {
                "path": warm.path,
                "start_fitness": float(start_fitness[i]),
                "saved_fitness": warm.final_fitness,
            }
        if stop is not None:
            run_extra["halved_at"] = stop[0]
        if save_dir is not None and nan_at is None and stop is None and checkpoints[i]:
            path = save_dir / W.policy_filename(prepared[ci].name, seed)
            while path in written:  # two names that differ only in characters a file name cannot hold
                path = path.with_name(f"{len(written)}_{path.name}")
            written.add(path)
            W.save(
                path,
                W.run_state(runner, rows.index(i)),
                task,
                cfg,
                reward=prepared[ci].name,
                seed=seed,
                env_steps=total_steps,
                final_fitness=checkpoints[i][-1].fitness,
                previous=warm,
            )
            run_extra["policy"] = str(path)
        if nan_at is not None:
            env_steps, message = nan_at, f"training diverged: non-finite network parameters by step {nan_at}"
        elif stop is not None:
            env_steps, message = stop[0], halved_message(stop[0], total_steps)
        else:
            env_steps, message = total_steps, ""
        results.append(
            TrainResult(
                candidate=prepared[ci].name,
                seed=seed,
                status="nan" if nan_at is not None else "ok",
                checkpoints=tuple(checkpoints[i]),
                env_steps=env_steps,
                train_seconds=stop[1] if stop is not None else train_s,
                compile_seconds=compile_s,
                message=message,
                extra=run_extra,
            )
        )
    return results


def halved_message(step: int, total_steps: int) -> str:
    """What a run stopped by halving says about itself (in its result, the run folder and the LLM's
    reflection): its training is not finished, so its fitness is that of a shorter training."""
    return (
        f"stopped by successive halving at step {step} of {total_steps} "
        f"({100 * step / total_steps:.0f}% of the budget): not a finished training"
    )


def _halve(
    halving: Halving, runs: list[tuple[int, int]], rows: list[int], checkpoints: list[list[Checkpoint]]
) -> list[int]:
    """The runs (indices into `runs`) that go on after a rung: every seed of the candidates `halving`
    keeps, ranked on each run's best fitness so far (a diverged run has none: minus infinity)."""
    live = [i for i in rows if i >= 0]
    best: dict[int, list[float]] = {}
    for i in live:
        fits = [c.fitness for c in checkpoints[i] if math.isfinite(c.fitness)]
        best.setdefault(runs[i][0], []).append(max(fits) if fits else -math.inf)
    kept = set(halving.survivors(best))
    return [i for i in live if runs[i][0] in kept]


def _halving_programs(
    task: Task, cfg: PPOConfig, n_cands: int, n_seeds: int, pad: bool, halving: Halving, first: Any
) -> dict[int, _Programs]:
    """The split programs for every run count `halving` cuts this batch to, by run count, with the first
    chunk's compiled reward program (`SplitChunk.resized`). Known in advance: every rung keeps `n_keep`
    of the candidates, with all their seeds."""
    out: dict[int, _Programs] = {}
    for _ in halving.after:
        n_cands = halving.n_keep(n_cands)
        n = n_cands * n_seeds
        n = run_slots(n) if pad else n
        if n not in out:
            progs = split_loop.compiled_programs(task, cfg, n)
            out[n] = _Programs(None, first.resized(progs), progs.evaluate, progs.finite)
    return out


def _gather_runs(
    pad: bool, runner: Any, rows: list[int], keep: list[int], runs: list[tuple[int, int]]
) -> tuple[Any, list[int], list[int]]:
    """(runner, rows, their seeds) cut to the runs in `keep`: gathered on the host (every leaf has the run
    axis) and padded like any batch with copies of its first run."""
    new_rows = list(keep)
    if pad:
        new_rows += [-1] * (run_slots(len(keep)) - len(keep))
    take = np.asarray([rows.index(i if i >= 0 else keep[0]) for i in new_rows])
    runner = jax.tree.map(lambda x: jnp.asarray(np.asarray(x)[take]), runner)
    seeds = [runs[i if i >= 0 else keep[0]][1] for i in new_rows]
    return runner, new_rows, seeds


def _eval_keys(seeds: Sequence[int], index: int) -> jax.Array:
    """The evaluation keys of checkpoint `index`, one per run: the same episodes for the same seed."""
    return jnp.stack([jax.random.fold_in(jax.random.PRNGKey(s), 10_000 + index) for s in seeds])


def merge_stats(a: ChunkStats, b: ChunkStats) -> ChunkStats:
    """Two chunks' (or updates') statistics as one (numpy, one row per run)."""
    ea, eb, ca, cb = a.episodes, b.episodes, a.comps, b.comps
    return ChunkStats(
        EpisodeStats(*(x + y for x, y in zip(ea, eb, strict=True))),
        CompStats(
            ca.sum + cb.sum, np.minimum(ca.min, cb.min), np.maximum(ca.max, cb.max), ca.count + cb.count
        ),
    )


def _check_host_names(host: tuple[HostReward, ...], prepared: Sequence[PreparedReward]) -> None:
    """Component names must stay unique once host and code components are recorded side by side."""
    names = [c for src in host for c in src.components]
    if len(set(names)) != len(names):
        raise ValueError(f"two host reward sources share a component name: {names}")
    for p in prepared:
        clash = sorted(set(names) & set(p.components))
        if clash:
            raise ValueError(f"reward {p.name} and a host reward source both have component(s) {clash}")


def _source_name(src: HostReward) -> str:
    return str(getattr(src, "name", "") or type(src).__name__)


def _checkpoint(
    step: int, seconds: float, slots: Sequence[tuple[int, str]], ev: EvalOut, st: ChunkStats, i: int
) -> Checkpoint:
    eps = st.episodes
    episodes = float(eps.episodes[i])
    per_ep = (lambda x: float(x[i]) / episodes) if episodes > 0 else (lambda x: math.nan)
    cs = st.comps
    count = max(float(cs.count[i]), 1.0)
    comps = {
        name: ComponentStats(
            mean=float(cs.sum[i][j]) / count, min=float(cs.min[i][j]), max=float(cs.max[i][j])
        )
        for j, name in slots
    }
    metrics = {k: float(v[i]) for k, v in ev.metrics.items()}
    metrics["env_return"] = float(ev.env_return[i])
    metrics["episode_length"] = float(ev.length[i])
    return Checkpoint(
        step=step,
        fitness=float(ev.fitness[i]),
        eval_metrics=metrics,
        reward_return=per_ep(eps.reward_return),
        env_return=per_ep(eps.env_return),
        episode_length=per_ep(eps.length),
        components=comps,
        seconds=seconds,
    )


ENGINE = Engine(
    name="ppo_jax",
    summary="PPO in JAX: a batch of reward candidates x seeds vmapped together (gymnax-API tasks)",
    train_fns=train_fns,
)

# The split driver imports this module's records, so it is imported last; importing the engine loads it
# (the sandboxed training child imports engines before it hardens itself, see docs/engines.md).
from rewardlab.engines import split_loop  # noqa: E402
