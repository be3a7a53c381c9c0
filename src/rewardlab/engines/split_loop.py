"""PPO updates as three compiled programs: rollout -> reward -> learn, with the reward the only new one.

Why: compiling is most of a reward search's wall time on a CPU (a tiny CartPole search spent 73 of
112 s compiling), and only the reward changes between its batches. `ppo_jax`'s fused chunk steps the
environments, computes the reward and updates the policy in one program, so every new batch of
candidates compiled the whole of PPO again. Here each update is three calls:

1. `rollout` (vmapped over runs): `num_steps` policy steps with the same random keys and auto-reset as
   the fused program, recording the transitions (`SegmentData`: state, action, true next state, done,
   env reward) but no reward;
2. `reward`: every run's candidate over its whole segment (runs x steps x envs) at once, plus, for
   host reward sources (`rewardlab.rewards.host`: an LLM judge, a VLM), their components computed here
   in Python; out come each step's total and the components' statistics;
3. `learn`: return normalisation, truncation bootstrapping, episode statistics, GAE and the PPO epochs,
   in the same order and with the same formulas as the fused program.

`rollout`, `learn`, the run initialiser, evaluation and the NaN check never see a reward function: for a
given task, config and run count their programs are identical from batch to batch, so JAX's persistent
compilation cache serves them to every batch after the first (also across processes: each sandboxed
training is a new one), and within one process they are built once (`compiled_programs`). Only the
small reward program compiles per batch. `ppo_jax.run_slots` pads the run count to a few fixed sizes so
that batches of slightly different sizes share programs too.
"""

from __future__ import annotations

import functools
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rewardlab.config import PPOConfig
from rewardlab.engines.ppo_jax import (
    ChunkStats,
    CompStats,
    SegmentData,
    build_program,
    finite_params,
    init_fn,
    merge_stats,
)
from rewardlab.rewards.host import HostReward, Segment, check_output
from rewardlab.tasks.base import Task


class Compiled(NamedTuple):
    """The reward-free programs of one (task, config, run count), compiled and vmapped over runs."""

    init: Any  # (keys [runs], candidate indices [runs]) -> Runner
    rollout: Any  # (runner) -> (runner, Transition, StepData, SegmentData)
    learn: Any  # (runner, Transition, StepData, total [runs, steps, envs]) -> (runner, EpisodeStats)
    evaluate: Any  # (runner, keys [runs]) -> EvalOut
    finite: Any  # (params) -> bool [runs]
    runner: Any  # the runner's shapes (jax.ShapeDtypeStruct tree)
    transition: Any  # shapes of (Transition, StepData, SegmentData) of one rollout


_CACHE: OrderedDict[tuple[int, PPOConfig, int], tuple[Task, Compiled]] = OrderedDict()
_CACHE_SIZE = 4


def compiled_programs(task: Task, cfg: PPOConfig, n_runs: int) -> Compiled:
    """The reward-free programs for `n_runs` runs, built once per process for each task and config.

    Keyed by the task object itself (kept alive in the entry, so its id cannot be reused), the config
    and the run count; the few most recent stay in memory. A new process still skips XLA through the
    persistent compilation cache and pays only tracing.
    """
    key = (id(task), cfg, n_runs)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is task:
        _CACHE.move_to_end(key)
        return hit[1]
    prog = build_program(task, cfg, None, 0, 1)
    keys = jax.ShapeDtypeStruct((n_runs, 2), jnp.uint32)
    cands = jax.ShapeDtypeStruct((n_runs,), jnp.int32)
    init = init_fn(prog.init)
    runner = jax.eval_shape(init, keys, cands)
    rollout = jax.jit(jax.vmap(prog.parts.rollout))
    _, traj, data, seg = jax.eval_shape(rollout, runner)
    total = jax.ShapeDtypeStruct(seg.done.shape, jnp.float32)
    evaluate = jax.jit(jax.vmap(prog.evaluate))
    compiled = Compiled(
        init=init.lower(keys, cands).compile(),
        rollout=rollout.lower(runner).compile(),
        learn=jax.jit(jax.vmap(prog.parts.learn)).lower(runner, traj, data, total).compile(),
        evaluate=evaluate.lower(runner, keys).compile(),
        finite=jax.jit(jax.vmap(finite_params)).lower(runner.params).compile(),
        runner=runner,
        transition=(traj, data, seg),
    )
    _CACHE[key] = (task, compiled)
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return compiled


def reward_program(reward: Callable, progs: Compiled, n_host: int) -> Any:
    """The batch's reward over a whole rollout, compiled: (candidate indices, SegmentData[, host totals])
    -> (total [runs, steps, envs], CompStats per run). `reward` is `ppo_jax.batched_reward`'s function."""
    per_env = jax.vmap(reward, in_axes=(None, 0, 0, 0, 0))
    per_step = jax.vmap(per_env, in_axes=(None, 0, 0, 0, 0))

    def one_run(cand: jax.Array, seg: SegmentData, host_total: jax.Array | None = None):
        total, comps = per_step(cand, seg.states, seg.actions, seg.next_states, seg.env_reward)
        if host_total is not None:
            total = total + host_total
        return total, CompStats.of(comps)

    seg = progs.transition[2]
    args: list[Any] = [progs.runner.cand, seg]
    if n_host:
        args.append(jax.ShapeDtypeStruct(seg.done.shape, jnp.float32))
    return jax.jit(jax.vmap(one_run)).lower(*args).compile()


def _pad_runs(x: jax.Array, extra: int) -> jax.Array:
    """`x` with `extra` copies of its first run appended on the run axis (the leading one)."""
    return jnp.concatenate([x, jnp.broadcast_to(x[:1], (extra, *x.shape[1:]))])


def _numpy_stats(comps: np.ndarray) -> CompStats:
    """`CompStats.of` per run, in numpy: comps is (runs, steps, envs, components)."""
    flat = comps.reshape(comps.shape[0], -1, comps.shape[-1])
    count = np.full((comps.shape[0],), flat.shape[1], np.float32)
    return CompStats(flat.sum(axis=1), flat.min(axis=1), flat.max(axis=1), count)


class SplitChunk:
    """`chunk_updates` PPO updates per call, as rollout -> reward (compiled, plus host sources) -> learn.

    A drop-in for the fused chunk: the caller gets the runner and numpy `ChunkStats`, with the host
    sources' components after the code reward's `width` slots. The three calls of an update are queued
    without waiting (JAX dispatches asynchronously) unless a host source needs the segment's values.
    `host_seconds` accumulates the time spent in host sources, for benchmarks.
    """

    def __init__(
        self,
        progs: Compiled,
        reward: Callable,
        chunk_updates: int,
        sources: tuple[HostReward, ...] = (),
    ) -> None:
        self.progs = progs
        self.sources = sources
        self.chunk_updates = chunk_updates
        self.n_host = sum(len(src.components) for src in sources)
        self.reward = reward_program(reward, progs, self.n_host)
        self.reward_runs = int(progs.runner.cand.shape[0])
        self.host_seconds = 0.0

    def resized(self, progs: Compiled) -> SplitChunk:
        """This chunk for the programs of a smaller run count (successive halving), keeping the compiled
        reward program: the segment is padded with copies of its first run up to the reward program's
        run count and the padding's rewards are dropped. A reward program per run count would compile
        the batch's candidates again at every rung, which cost more than the steps halving saves."""
        other = object.__new__(SplitChunk)
        other.__dict__.update(self.__dict__)
        other.progs = progs
        other.host_seconds = 0.0
        if int(progs.runner.cand.shape[0]) > self.reward_runs:
            raise ValueError("a resized chunk can only have fewer runs than its reward program")
        return other

    def _reward(self, cand: jax.Array, seg: SegmentData, host_total: Any = None) -> tuple[Any, CompStats]:
        n = int(cand.shape[0])
        extra = self.reward_runs - n
        if extra == 0:
            args = (cand, seg) if host_total is None else (cand, seg, host_total)
            return self.reward(*args)
        pad = functools.partial(_pad_runs, extra=extra)
        args = (pad(cand), jax.tree.map(pad, seg))
        if host_total is not None:
            args += (pad(jnp.asarray(host_total, jnp.float32)),)
        total, stats = self.reward(*args)
        return total[:n], jax.tree.map(lambda x: x[:n], stats)

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

    def __call__(self, runner: Any) -> tuple[Any, ChunkStats]:
        pending: list[tuple[Any, Any, CompStats | None]] = []
        for _ in range(self.chunk_updates):
            runner, traj, data, seg = self.progs.rollout(runner)
            host_stats = None
            if self.sources:
                comps = self.host_rewards(seg)
                total, code_stats = self._reward(runner.cand, seg, comps.sum(axis=-1))
                host_stats = _numpy_stats(comps)
            else:
                total, code_stats = self._reward(runner.cand, seg)
            runner, ep_stats = self.progs.learn(runner, traj, data, total)
            pending.append((ep_stats, code_stats, host_stats))
        acc: ChunkStats | None = None
        for ep_stats, code_stats, host_stats in pending:
            st = jax.tree.map(np.asarray, ChunkStats(ep_stats, code_stats))
            if host_stats is not None:
                c = st.comps
                st = st._replace(comps=CompStats(
                    np.concatenate([c.sum, host_stats.sum], axis=-1),
                    np.concatenate([c.min, host_stats.min], axis=-1),
                    np.concatenate([c.max, host_stats.max], axis=-1),
                    c.count,
                ))
            acc = st if acc is None else merge_stats(acc, st)
        assert acc is not None
        return runner, acc
