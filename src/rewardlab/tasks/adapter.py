"""The environment boundary: one small contract between rewardlab and whatever simulates the task.

Everything above this module (the engine, random rollouts, the sandbox's transition sampler, the
context shown to an LLM, `check_task`) talks to an `EnvAdapter` and never to an environment library's
own API. The adapter answers five questions: how to reset, how to step (next state, observation, the
environment's own reward, terminated, truncated), what the actions look like, how long an episode may
last, and which fields the state record has. `GymnaxAdapter` is the first implementation (any object
with gymnax's `reset_env` / `step_env` methods); a Brax/MJX adapter can sit beside it.

The contract is pure and jittable: `reset(key)` and `step(key, state, action)` are called under
`jax.jit` and `jax.vmap`. `step` never auto-resets: on the last step of an episode it returns the true
final state, which is what reward programs must see.

The state an adapter carries from step to step may hold more than a reward needs (Brax carries MuJoCo's
whole physics data). An adapter may then define `reward_state(state)`, the record reward programs,
episode signals and host reward sources see instead; the engine records only that view of every step of
a rollout, so a slim view keeps a rollout's memory small. Callers go through `reward_state(env, state)`
below, so every path shows the reward the same record; an adapter without the method shows its state.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np


class ActionSpec(NamedTuple):
    """What the policy outputs: `n` discrete actions, or a box of `n` floats in [low, high]."""

    discrete: bool
    n: int  # number of discrete actions, or the action dimension for continuous spaces
    low: jax.Array | None = None
    high: jax.Array | None = None

    def zero_action(self) -> jax.Array:
        """A valid action of the right shape and dtype (for tracing)."""
        return jnp.int32(0) if self.discrete else jnp.zeros((self.n,), jnp.float32)


class Step(NamedTuple):
    """What one environment step returns (no auto-reset: `state` is the true next state)."""

    obs: jax.Array
    state: Any
    env_reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array


@runtime_checkable
class EnvAdapter(Protocol):
    """The environment contract every engine, sampler and check uses."""

    kind: str  # "gymnax", ...: which adapter, for messages and run folders

    def reset(self, key: jax.Array) -> tuple[jax.Array, Any]:
        """(observation, state) of a fresh episode."""
        ...

    def step(self, key: jax.Array, state: Any, action: jax.Array) -> Step:
        """One transition from `state` with `action` (already clipped for continuous actions)."""
        ...

    @property
    def action_spec(self) -> ActionSpec: ...

    @property
    def obs_shape(self) -> tuple[int, ...]: ...

    @property
    def max_episode_steps(self) -> int:
        """The episode limit: evaluation rollouts run this many steps."""
        ...

    @property
    def source_class(self) -> type:
        """The class whose module is shown (reward removed) to an LLM as the environment's code."""
        ...

    @property
    def step_method(self) -> str:
        """Name of the method of `source_class` that computes the reward (the context transform's anchor)."""
        ...

    # Optional, not part of the protocol's required members (`isinstance` does not ask for it):
    #   def reward_state(self, state) -> record: the view of `state` that rewards see; see `reward_state`.


def reward_state(env: Any, state: Any) -> Any:
    """What reward programs and `episode_signals` see of the carried `state` (one environment, no batch
    axis): the adapter's own `reward_state(state)` where it defines one, else `state` itself.

    The one place that looks the method up: the engine's rollout, its shape sample, evaluation signals,
    random rollouts and the sandbox's transition sampler all call this, so a reward never sees the
    carried state in one path and the view in another. Jittable whenever the adapter's method is.
    """
    view = getattr(env, "reward_state", None)
    return state if view is None else view(state)


def state_fields(state: Any) -> tuple[str, ...]:
    """Field names of a state record (dataclass or NamedTuple); empty if it is neither."""
    if dataclasses.is_dataclass(state):
        return tuple(f.name for f in dataclasses.fields(state))
    fields = getattr(type(state), "_fields", None)
    return tuple(fields) if isinstance(fields, tuple) else ()


class GymnaxAdapter:
    """Any gymnax-API environment: `reset_env(key, params)`, `step_env(key, state, action, params)`,
    `action_space(params)`, `observation_space(params)`, and an episode limit (`is_truncated` when the
    environment has it, else `state.time >= params.max_steps_in_episode`).

    `params=None` takes `env.default_params`. The adapter is the only place in rewardlab that calls
    these methods.
    """

    kind = "gymnax"
    REQUIRED = ("reset_env", "step_env", "action_space", "observation_space")

    def __init__(self, env: Any, params: Any = None) -> None:
        missing = [m for m in self.REQUIRED if not callable(getattr(env, m, None))]
        if missing:
            raise TypeError(
                f"{type(env).__name__} is not a gymnax-API environment: it has no {', '.join(missing)}()"
            )
        if params is None:
            params = getattr(env, "default_params", None)
            if params is None:
                raise TypeError(f"{type(env).__name__} has no default_params; pass params explicitly")
        self.env = env
        self.params = params

    def reset(self, key: jax.Array) -> tuple[jax.Array, Any]:
        return self.env.reset_env(key, self.params)

    def step(self, key: jax.Array, state: Any, action: jax.Array) -> Step:
        obs, next_state, reward, terminated, _ = self.env.step_env(key, state, action, self.params)
        truncated = self._truncated(next_state)
        return Step(
            obs,
            next_state,
            jnp.reshape(jnp.asarray(reward, jnp.float32), ()),
            jnp.reshape(jnp.asarray(terminated), ()).astype(bool),
            jnp.reshape(jnp.asarray(truncated), ()).astype(bool),
        )

    def _truncated(self, state: Any) -> jax.Array:
        fn = getattr(self.env, "is_truncated", None)
        if callable(fn):
            return fn(state, self.params)
        return state.time >= self.max_episode_steps

    @property
    def action_spec(self) -> ActionSpec:
        space = self.env.action_space(self.params)
        if hasattr(space, "n"):
            return ActionSpec(True, int(space.n))
        if not (hasattr(space, "low") and hasattr(space, "high")):
            raise TypeError(f"action space must be discrete or a box, got {type(space).__name__}")
        shape = tuple(getattr(space, "shape", ()) or ()) or (1,)
        low = jnp.broadcast_to(jnp.asarray(space.low, jnp.float32), shape)
        high = jnp.broadcast_to(jnp.asarray(space.high, jnp.float32), shape)
        return ActionSpec(False, int(np.prod(shape)), low, high)

    @property
    def obs_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.env.observation_space(self.params).shape)

    @property
    def max_episode_steps(self) -> int:
        limit = getattr(self.params, "max_steps_in_episode", None)
        if limit is None:
            raise TypeError(
                f"{type(self.params).__name__} has no max_steps_in_episode: rewardlab needs an episode limit"
            )
        return int(limit)

    @property
    def source_class(self) -> type:
        return type(self.env)

    @property
    def step_method(self) -> str:
        return "step_env"


def as_adapter(env: Any, params: Any = None) -> EnvAdapter:
    """`env` itself if it already is an adapter, else a `GymnaxAdapter` around it."""
    if isinstance(env, EnvAdapter):
        if params is not None:
            raise TypeError("params are for gymnax environments; an EnvAdapter carries its own")
        return env
    return GymnaxAdapter(env, params)
