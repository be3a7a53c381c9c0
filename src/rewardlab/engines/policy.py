"""Actor and critic networks (an MLP or a small CNN torso), action distributions and running
normalisers, in plain JAX.

Plain functions over dicts of arrays instead of a module library: the engine vmaps whole
training runs, and explicit parameters keep that obvious and cheap to trace. Networks take the
observation flattened (the engine stores it flat); the CNN torso reshapes it to the environment's
(height, width, channels) grid itself.
"""

from __future__ import annotations

import math
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


def conv_init(key: jax.Array, channels: tuple[int, ...]) -> Params:
    """3x3 convolution kernels stored as (9 * c_in, c_out) matrices, orthogonal init (gain sqrt 2);
    zero biases. `channels` is (input channels, output channels of each layer).
    """
    params: Params = {}
    keys = jax.random.split(key, len(channels) - 1)
    for i, (k, c_in, c_out) in enumerate(zip(keys, channels[:-1], channels[1:], strict=True)):
        params[f"conv{i}"] = jax.nn.initializers.orthogonal(jnp.sqrt(2.0))(k, (9 * c_in, c_out), jnp.float32)
        params[f"conv_b{i}"] = jnp.zeros((c_out,), jnp.float32)
    return params


def conv_apply(params: Params, x: jax.Array, activation: str, stride: int = 1) -> jax.Array:
    """3x3 convolutions with zero padding 1 and `stride` (the grid shrinks to ceil(size / stride)), each
    followed by the activation; `x` is (..., height, width, channels).

    Written as patches times a matrix rather than `lax.conv`: the engine vmaps runs whose kernels
    differ, and a batched matrix product is what XLA's CPU backend does well (a vmapped convolution
    with per-run kernels becomes a grouped convolution).
    """
    act = jnp.tanh if activation == "tanh" else jax.nn.relu
    n_layers = sum(1 for k in params if k.startswith("conv_b"))
    for i in range(n_layers):
        height, width = x.shape[-3], x.shape[-2]
        xp = jnp.pad(x, [(0, 0)] * (x.ndim - 3) + [(1, 1), (1, 1), (0, 0)])
        patches = jnp.concatenate(
            [
                xp[..., dy : dy + height : stride, dx : dx + width : stride, :]
                for dy in range(3)
                for dx in range(3)
            ],
            axis=-1,
        )
        x = act(patches @ params[f"conv{i}"] + params[f"conv_b{i}"])
    return x


class Torso(NamedTuple):
    """The network body shared in shape by actor and critic (each has its own weights).

    `kind` "mlp": the flattened observation through the `hidden` dense layers. `kind` "cnn": the
    observation as a (height, width, channels) grid (a 2-D one gets one channel) through 3x3
    convolutions with `conv` output channels and `stride`, flattened, then the `hidden` dense layers.
    """

    kind: str
    obs_shape: tuple[int, ...]
    hidden: tuple[int, ...]
    conv: tuple[int, ...] = ()
    stride: int = 1

    @property
    def grid(self) -> tuple[int, int, int]:
        if len(self.obs_shape) == 3:
            return self.obs_shape  # type: ignore[return-value]
        if len(self.obs_shape) == 2:
            return (*self.obs_shape, 1)  # type: ignore[return-value]
        raise ValueError(
            f"the cnn torso needs a (height, width[, channels]) observation, got shape {self.obs_shape}"
        )

    @property
    def obs_dim(self) -> int:
        return int(math.prod(self.obs_shape))

    @property
    def conv_out(self) -> int:
        """Size of the flattened output of the convolutions."""
        height, width, _ = self.grid
        for _ in self.conv:
            height, width = -(-height // self.stride), -(-width // self.stride)
        return height * width * self.conv[-1]


def make_torso(
    kind: str, obs_shape: tuple[int, ...], hidden: tuple[int, ...], conv: tuple[int, ...], stride: int = 1
) -> Torso:
    """Validate a torso description against the observation shape (a ValueError says what is wrong)."""
    if kind not in ("mlp", "cnn"):
        raise ValueError(f"torso must be 'mlp' or 'cnn' (got {kind!r})")
    cnn = kind == "cnn"
    torso = Torso(kind, tuple(obs_shape), tuple(hidden), tuple(conv) if cnn else (), stride if cnn else 1)
    if kind == "cnn":
        _ = torso.grid
        if not torso.conv:
            raise ValueError("the cnn torso needs at least one convolution (conv)")
    return torso


def net_init(key: jax.Array, torso: Torso, n_out: int, out_gain: float) -> Params:
    if torso.kind == "mlp":
        return mlp_init(key, (torso.obs_dim, *torso.hidden, n_out), out_gain)
    k_conv, k_mlp = jax.random.split(key)
    params = conv_init(k_conv, (torso.grid[-1], *torso.conv))
    params.update(mlp_init(k_mlp, (torso.conv_out, *torso.hidden, n_out), out_gain))
    return params


def net_apply(params: Params, torso: Torso, obs: jax.Array, activation: str) -> jax.Array:
    """The network's output for flat observations of shape (..., obs_dim)."""
    if torso.kind == "mlp":
        return mlp_apply(params, obs, activation)
    lead = obs.shape[:-1]
    x = conv_apply(params, obs.reshape((*lead, *torso.grid)), activation, torso.stride)
    return mlp_apply(params, x.reshape((*lead, -1)), activation)


class AgentParams(NamedTuple):
    actor: Params
    critic: Params
    log_std: jax.Array  # unused (shape (0,)) for discrete actions


def agent_init(key: jax.Array, torso: Torso, spec: ActionSpec, log_std: float) -> AgentParams:
    k_actor, k_critic = jax.random.split(key)
    actor = net_init(k_actor, torso, spec.n, out_gain=0.01)
    critic = net_init(k_critic, torso, 1, out_gain=1.0)
    std = jnp.full((0 if spec.discrete else spec.n,), log_std, jnp.float32)
    return AgentParams(actor, critic, std)


def value(params: AgentParams, torso: Torso, obs: jax.Array, activation: str) -> jax.Array:
    return net_apply(params.critic, torso, obs, activation)[..., 0]


def policy_out(params: AgentParams, torso: Torso, obs: jax.Array, activation: str) -> jax.Array:
    """Logits (discrete) or the Gaussian mean (continuous)."""
    return net_apply(params.actor, torso, obs, activation)


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
