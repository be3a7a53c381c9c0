"""Transitions a probe feeds to a candidate: sampled from the task's own environment.

Random-action rollouts from several resets (`rewardlab.tasks.rollout`, auto-reset on episode end like
the engine), so that the sample holds start states, ordinary states and terminal transitions (where
`next_state` is the true final state). A reward that divides by a quantity that is zero at the start
of an episode, or that overflows near failure, shows up here instead of as a NaN after minutes of
training.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rewardlab.tasks.adapter import reward_state
from rewardlab.tasks.base import Task
from rewardlab.tasks.gym_adapter import is_host
from rewardlab.tasks.rollout import random_transitions


class Batch(NamedTuple):
    """`n` transitions stacked along a leading axis (state pytrees have batched leaves)."""

    state: Any
    action: jax.Array
    next_state: Any
    env_reward: jax.Array
    terminal: np.ndarray


def sample_transitions(task: Task, n: int = 64, seed: int = 0, n_envs: int = 16, horizon: int = 64) -> Batch:
    """`n` of the task's random-policy transitions; up to a quarter of them terminal when any occur."""
    tr = random_transitions(task, n_envs=n_envs, n_steps=horizon, seed=seed)
    done_np = np.asarray(tr.terminated) | np.asarray(tr.truncated)
    rng = np.random.default_rng(seed)
    terminal_idx = np.flatnonzero(done_np)
    other_idx = np.flatnonzero(~done_np)
    n_term = min(len(terminal_idx), max(1, n // 4)) if len(terminal_idx) else 0
    pick = np.concatenate([
        rng.choice(terminal_idx, n_term, replace=False) if n_term else np.zeros(0, np.int64),
        rng.choice(other_idx, n - n_term, replace=len(other_idx) < n - n_term),
    ])
    take = lambda tree: jax.tree.map(lambda x: x[pick], tree)
    return Batch(take(tr.state), take(tr.action), take(tr.next_state), take(tr.env_reward), done_np[pick])


def cache_name(task_name: str, n: int, seed: int) -> str:
    """File name of a sampled batch: sampling is deterministic in (task, n, seed)."""
    # v4: states are the reward's view (`reward_state`), which for Brax is no longer the carried record
    return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', task_name)}-n{n}-s{seed}.v4.npz"


def save_batch(path: Path, batch: Batch) -> None:
    """Write a batch as flat arrays (the parent moves it to the shared cache when the child is done)."""
    leaves = jax.tree.leaves((batch.state, batch.action, batch.next_state, batch.env_reward))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        np.savez(fh, terminal=batch.terminal, **{f"leaf{i}": np.asarray(x) for i, x in enumerate(leaves)})


def load_batch(path: Path, task: Task) -> Batch | None:
    """A cached batch rebuilt on the task's state structure; None if missing or not what it should be."""
    if not path.is_file():
        return None
    template = jax.eval_shape(lambda k: _template(task, k), jax.random.PRNGKey(0))
    leaves, treedef = jax.tree.flatten(template)
    try:
        with np.load(path, allow_pickle=False) as data:
            if sum(name.startswith("leaf") for name in data.files) != len(leaves):
                return None  # written for another state record
            arrays = [data[f"leaf{i}"] for i in range(len(leaves))]
            terminal = data["terminal"]
    except (OSError, KeyError, ValueError):
        return None
    n = len(terminal)
    for arr, spec in zip(arrays, leaves, strict=True):
        if arr.shape != (n, *spec.shape) or arr.dtype != spec.dtype:
            return None
    state, action, next_state, env_reward = jax.tree.unflatten(treedef, [jnp.asarray(a) for a in arrays])
    return Batch(state, action, next_state, env_reward, terminal.astype(bool))


def _template(task: Task, key: jax.Array) -> tuple[Any, Any, Any, Any]:
    """The (state, action, next_state, env_reward) structure of one transition, states as rewards see them."""
    # a Gymnasium environment cannot be traced; its adapter knows the record
    carried = task.env.template() if is_host(task.env) else task.env.reset(key)[1]
    s = reward_state(task.env, carried)
    return s, task.env.action_spec.zero_action(), s, jnp.float32(0.0)


def describe_state(batch_state: Any, index: int, limit: int = 6) -> str:
    """`x=0.03, theta=-0.21, ...` for one transition of a batched state (for error messages)."""
    fields = getattr(batch_state, "__dataclass_fields__", {})
    parts = []
    for name in list(fields)[:limit]:
        value = np.asarray(getattr(batch_state, name))[index]
        parts.append(f"{name}={np.array2string(np.asarray(value), precision=3, suppress_small=True)}")
    return ", ".join(parts)
