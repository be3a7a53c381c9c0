"""Actor and critic MLPs, action distributions and running normalisers, in plain JAX.

Plain functions over dicts of arrays instead of a module library: the engine vmaps whole
training runs, and explicit parameters keep that obvious and cheap to trace.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from rewardlab.tasks.adapter import ActionSpec

Params = dict[str, jax.Array]


def mlp_init(key: jax.Array, sizes: tuple[int, ...], out_gain: float) -> Params:
    """Orthogonal init (gain sqrt 2 on hidden layers, `out_gain` on the output), zero biases."""
    params: Params = {}
    keys = jax.random.split(key, len(sizes) - 1)
    for i, (k, fan_in, fan_out) in enumerate(zip(keys, sizes[:-1], sizes[1:], strict=True)):
        gain = out_gain if i == len(sizes) - 2 else jnp.sqrt(2.0)
        params[f"w{i}"] = jax.nn.initializers.orthogonal(gain)(k, (fan_in, fan_out), jnp.float32)
        params[f"b{i}"] = jnp.zeros((fan_out,), jnp.float32)
    return params


def mlp_apply(params: Params, x: jax.Array, activation: str) -> jax.Array:
    act = jnp.tanh if activation == "tanh" else jax.nn.relu
    n_layers = sum(1 for k in params if k.startswith("w"))
    for i in range(n_layers):
        x = x @ params[f"w{i}"] + params[f"b{i}"]
        if i < n_layers - 1:
            x = act(x)
    return x


class AgentParams(NamedTuple):
    actor: Params
    critic: Params
    log_std: jax.Array  # unused (shape (0,)) for discrete actions


def agent_init(
    key: jax.Array, obs_dim: int, spec: ActionSpec, hidden: tuple[int, ...], log_std: float
) -> AgentParams:
    k_actor, k_critic = jax.random.split(key)
    actor = mlp_init(k_actor, (obs_dim, *hidden, spec.n), out_gain=0.01)
    critic = mlp_init(k_critic, (obs_dim, *hidden, 1), out_gain=1.0)
    std = jnp.full((0 if spec.discrete else spec.n,), log_std, jnp.float32)
    return AgentParams(actor, critic, std)


def value(params: AgentParams, obs: jax.Array, activation: str) -> jax.Array:
    return mlp_apply(params.critic, obs, activation)[..., 0]


def policy_out(params: AgentParams, obs: jax.Array, activation: str) -> jax.Array:
    """Logits (discrete) or the Gaussian mean (continuous)."""
    return mlp_apply(params.actor, obs, activation)


def sample_action(key: jax.Array, out: jax.Array, log_std: jax.Array, spec: ActionSpec):
    """Sample an action and its log-probability."""
    if spec.discrete:
        action = jax.random.categorical(key, out)
        return action, log_prob(out, log_std, action, spec)
    action = out + jnp.exp(log_std) * jax.random.normal(key, out.shape)
    return action, log_prob(out, log_std, action, spec)


def greedy_action(out: jax.Array, spec: ActionSpec) -> jax.Array:
    return jnp.argmax(out, axis=-1) if spec.discrete else out


def log_prob(out: jax.Array, log_std: jax.Array, action: jax.Array, spec: ActionSpec) -> jax.Array:
    if spec.discrete:
        logp_all = jax.nn.log_softmax(out)
        return jnp.take_along_axis(logp_all, action[..., None].astype(jnp.int32), axis=-1)[..., 0]
    z = (action - out) / jnp.exp(log_std)
    return jnp.sum(-0.5 * z**2 - log_std - 0.5 * jnp.log(2 * jnp.pi), axis=-1)


def entropy(out: jax.Array, log_std: jax.Array, spec: ActionSpec) -> jax.Array:
    if spec.discrete:
        logp = jax.nn.log_softmax(out)
        return -jnp.sum(jnp.exp(logp) * logp, axis=-1)
    return jnp.sum(log_std + 0.5 * jnp.log(2 * jnp.pi * jnp.e)) * jnp.ones(out.shape[:-1])


def env_action(action: jax.Array, spec: ActionSpec) -> jax.Array:
    """The action the environment (and the reward) sees: clipped to the box for continuous spaces."""
    if spec.discrete:
        return action.astype(jnp.int32)
    return jnp.clip(action, spec.low, spec.high)


class RunningStats(NamedTuple):
    """Running mean and variance (parallel-update formula), for observation and return normalisation."""

    mean: jax.Array
    var: jax.Array
    count: jax.Array

    @staticmethod
    def create(shape: tuple[int, ...]) -> RunningStats:
        return RunningStats(jnp.zeros(shape), jnp.ones(shape), jnp.asarray(1e-4))

    def update(self, batch: jax.Array) -> RunningStats:
        b_mean = jnp.mean(batch, axis=0)
        b_var = jnp.var(batch, axis=0)
        b_count = batch.shape[0]
        delta = b_mean - self.mean
        total = self.count + b_count
        mean = self.mean + delta * b_count / total
        m2 = self.var * self.count + b_var * b_count + delta**2 * self.count * b_count / total
        return RunningStats(mean, m2 / total, total)

    def normalize(self, x: jax.Array, clip: float = 10.0) -> jax.Array:
        return jnp.clip((x - self.mean) / jnp.sqrt(self.var + 1e-8), -clip, clip)
