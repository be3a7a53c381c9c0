"""Transitions a probe feeds to a candidate: sampled from the task's own environment.

Random-action rollouts from several resets, auto-reset on episode end exactly like the engine, so
that the sample holds start states, ordinary states and terminal transitions (where `next_state` is
the true final state). A reward that divides by a quantity that is zero at the start of an episode,
or that overflows near failure, shows up here instead of as a NaN after minutes of training.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rewardlab.engines.ppo_jax import action_spec
from rewardlab.tasks.base import Task


class Batch(NamedTuple):
    """`n` transitions stacked along a leading axis (state pytrees have batched leaves)."""

    state: Any
    action: jax.Array
    next_state: Any
    terminal: np.ndarray


def sample_transitions(task: Task, n: int = 64, seed: int = 0, n_envs: int = 16, horizon: int = 64) -> Batch:
    """`n` transitions from random rollouts; up to a quarter of them terminal when any occur."""
    env, params = task.make_env()
    spec = action_spec(env, params)
    v_step = jax.vmap(env.step_env, in_axes=(0, 0, 0, None))
    v_reset = jax.vmap(env.reset_env, in_axes=(0, None))
    v_trunc = jax.vmap(env.is_truncated, in_axes=(0, None))

    def random_action(key: jax.Array) -> jax.Array:
        if spec.discrete:
            return jax.random.randint(key, (n_envs,), 0, spec.n).astype(jnp.int32)
        return jax.random.uniform(key, (n_envs, spec.n), minval=spec.low, maxval=spec.high)

    def step(state: Any, key: jax.Array):
        k_a, k_s, k_r = jax.random.split(key, 3)
        action = random_action(k_a)
        _, nxt, _, term, _ = v_step(jax.random.split(k_s, n_envs), state, action, params)
        done = term.astype(bool) | v_trunc(nxt, params)
        _, fresh = v_reset(jax.random.split(k_r, n_envs), params)
        carry = jax.tree.map(
            lambda a, b: jnp.where(jnp.reshape(done, done.shape + (1,) * (a.ndim - 1)), a, b), fresh, nxt
        )
        return carry, (state, action, nxt, done)

    @jax.jit
    def rollout(key: jax.Array):
        k0, k1 = jax.random.split(key)
        _, state0 = v_reset(jax.random.split(k0, n_envs), params)
        _, traj = jax.lax.scan(step, state0, jax.random.split(k1, horizon))
        return jax.tree.map(lambda x: x.reshape((horizon * n_envs, *x.shape[2:])), traj)

    states, actions, next_states, done = rollout(jax.random.PRNGKey(seed))
    done_np = np.asarray(done)
    rng = np.random.default_rng(seed)
    terminal_idx = np.flatnonzero(done_np)
    other_idx = np.flatnonzero(~done_np)
    n_term = min(len(terminal_idx), max(1, n // 4)) if len(terminal_idx) else 0
    pick = np.concatenate([
        rng.choice(terminal_idx, n_term, replace=False) if n_term else np.zeros(0, np.int64),
        rng.choice(other_idx, n - n_term, replace=len(other_idx) < n - n_term),
    ])
    take = lambda tree: jax.tree.map(lambda x: x[pick], tree)
    return Batch(take(states), take(actions), take(next_states), done_np[pick])


def cache_name(task_name: str, n: int, seed: int) -> str:
    """File name of a sampled batch: sampling is deterministic in (task, n, seed)."""
    return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', task_name)}-n{n}-s{seed}.v1.npz"


def save_batch(path: Path, batch: Batch) -> None:
    """Write a batch as flat arrays (the parent moves it to the shared cache when the child is done)."""
    leaves = jax.tree.leaves((batch.state, batch.action, batch.next_state))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        np.savez(fh, terminal=batch.terminal, **{f"leaf{i}": np.asarray(x) for i, x in enumerate(leaves)})


def load_batch(path: Path, task: Task) -> Batch | None:
    """A cached batch rebuilt on the task's state structure; None if missing or not what it should be."""
    if not path.is_file():
        return None
    env, params = task.make_env()
    template = jax.eval_shape(lambda k: _template(env, params, k), jax.random.PRNGKey(0))
    leaves, treedef = jax.tree.flatten(template)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = [data[f"leaf{i}"] for i in range(len(leaves))]
            terminal = data["terminal"]
    except (OSError, KeyError, ValueError):
        return None
    n = len(terminal)
    for arr, spec in zip(arrays, leaves, strict=True):
        if arr.shape != (n, *spec.shape) or arr.dtype != spec.dtype:
            return None
    state, action, next_state = jax.tree.unflatten(treedef, [jnp.asarray(a) for a in arrays])
    return Batch(state, action, next_state, terminal.astype(bool))


def _template(env: Any, params: Any, key: jax.Array) -> tuple[Any, Any, Any]:
    """The (state, action, next_state) structure of one transition."""
    spec = action_spec(env, params)
    _, s = env.reset_env(key, params)
    a = jnp.int32(0) if spec.discrete else jnp.zeros((spec.n,), jnp.float32)
    return s, a, s


def describe_state(batch_state: Any, index: int, limit: int = 6) -> str:
    """`x=0.03, theta=-0.21, ...` for one transition of a batched state (for error messages)."""
    fields = getattr(batch_state, "__dataclass_fields__", {})
    parts = []
    for name in list(fields)[:limit]:
        value = np.asarray(getattr(batch_state, name))[index]
        parts.append(f"{name}={np.array2string(np.asarray(value), precision=3, suppress_small=True)}")
    return ", ".join(parts)
