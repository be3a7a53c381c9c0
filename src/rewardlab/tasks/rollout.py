"""Random-policy transitions from a task's environment, for checks and probes.

Rewards are judged on real transitions, including terminal ones and time-limit truncations, so the
sampler runs uniformly random actions from resets and records (state, action, next_state) with the
true final state on terminal steps (no auto-reset in between). States are recorded as rewards see
them (`tasks.adapter.reward_state`), the view the engine's rollout records too.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from rewardlab.tasks.adapter import ActionSpec, reward_state
from rewardlab.tasks.base import Task
from rewardlab.tasks.gym_adapter import GymnasiumAdapter, is_host


class Transitions(NamedTuple):
    """Leaves have a leading axis of length n_envs * n_steps; states are what rewards see."""

    state: Any
    action: jax.Array
    next_state: Any
    terminated: jax.Array
    truncated: jax.Array
    env_reward: jax.Array


def random_action(key: jax.Array, spec: ActionSpec) -> jax.Array:
    """A uniformly random action of `spec` (int32 for discrete, float32 in the box otherwise)."""
    if spec.discrete:
        return jax.random.randint(key, (), 0, spec.n).astype(jnp.int32)
    return jax.random.uniform(key, (spec.n,), jnp.float32, spec.low, spec.high)


def random_transitions(task: Task, n_envs: int = 16, n_steps: int = 64, seed: int = 0) -> Transitions:
    """`n_envs * n_steps` transitions under a uniformly random policy, resetting after each episode end."""
    env = task.env
    if is_host(env):
        return host_transitions(env, n_envs, n_steps, seed)
    spec = env.action_spec

    def one_env(key):
        k_reset, k_run = jax.random.split(key)
        _, state = env.reset(k_reset)

        def step(state, k):
            k_a, k_s, k_r = jax.random.split(k, 3)
            action = random_action(k_a, spec)
            out = env.step(k_s, state, action)
            done = jnp.logical_or(out.terminated, out.truncated)
            _, reset_state = env.reset(k_r)
            carry = jax.tree.map(lambda r, s: jnp.where(done, r, s), reset_state, out.state)
            tr = Transitions(
                reward_state(env, state), action, reward_state(env, out.state),
                out.terminated, out.truncated, out.env_reward,
            )
            return carry, tr

        _, tr = jax.lax.scan(step, state, jax.random.split(k_run, n_steps))
        return tr

    tr = jax.jit(jax.vmap(one_env))(jax.random.split(jax.random.PRNGKey(seed), n_envs))
    return jax.tree.map(lambda x: x.reshape((n_envs * n_steps, *x.shape[2:])), tr)


def host_transitions(adapter: GymnasiumAdapter, n_envs: int, n_steps: int, seed: int) -> Transitions:
    """`random_transitions` for a host (Gymnasium) environment: the same layout, stepped from Python.

    Environment `e` is reset with seed `seed * 1000 + e` (and +1 at each later reset), its action space
    seeded likewise, so the sample is deterministic in (task, seed). An exception raised by the
    environment propagates as `EnvStepError` (the task's fault).
    """
    import numpy as np

    states, actions, nexts, terms, truncs, rewards = [], [], [], [], [], []
    for e in range(n_envs):
        env = adapter.make_env()
        try:
            env.action_space.seed(seed * 1000 + e)
            episode = 0
            obs, info = adapter.reset(env, seed=seed * 1000 + e)
            state = adapter.state_of(obs, info, env)
            for _ in range(n_steps):
                action = env.action_space.sample()
                discrete = adapter.action_spec.discrete
                flat = np.int32(action) if discrete else np.asarray(action, np.float32).ravel()
                obs, r, term, trunc, info = adapter.step(env, flat)
                nxt = adapter.state_of(obs, info, env)
                states.append(reward_state(adapter, state))
                actions.append(flat)
                nexts.append(reward_state(adapter, nxt))
                terms.append(bool(term))
                truncs.append(bool(trunc))
                rewards.append(np.float32(r))
                if term or trunc:
                    episode += 1
                    obs, info = adapter.reset(env, seed=seed * 1000 + e + 7919 * episode)
                    nxt = adapter.state_of(obs, info, env)
                state = nxt
        finally:
            env.close()
    return Transitions(
        adapter.stack(states), jnp.asarray(np.stack(actions)), adapter.stack(nexts),
        jnp.asarray(np.array(terms)), jnp.asarray(np.array(truncs)),
        jnp.asarray(np.array(rewards, np.float32)),
    )
