"""A user's own environment for tests, written to a folder outside the package as a user would write it.

`write_dot_env(folder)` writes `dot_env.py`: a gymnax-API environment (a dot on a line that must reach a
goal; three discrete actions) ending in `make_task()`, which builds the task with `from_gymnax`.
`dot_source(name=..., tiny=True)` is the same file with another task name and 16-step episodes, a
512-step search budget and one checkpoint, for searches that only need to run. Its
reward is called `r` (not "reward") and comes from a helper that termination also uses, so the context
transform has to find it by its place in `step_env`'s return. Tests import it only through task
references (`dot_env.py:make_task`), in this process and in the sandbox's children.
"""

from __future__ import annotations

from pathlib import Path

_TEMPLATE = '''\
"""A dot on a line must reach the goal at x = 1."""

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces


@struct.dataclass
class EnvState(environment.EnvState):
    x: jax.Array  # position of the dot on the line
    v: jax.Array  # velocity of the dot
    time: int


@struct.dataclass
class EnvParams(environment.EnvParams):
    goal: float = 1.0
    max_steps_in_episode: int = EPISODE_STEPS


def distance(x: jax.Array, goal: float) -> jax.Array:
    return jnp.abs(goal - x)


class DotEnv(environment.Environment[EnvState, EnvParams]):
    """Push the dot left, not at all, or right; it has a little inertia."""

    @property
    def default_params(self) -> EnvParams:
        return EnvParams()

    def step_env(self, key: jax.Array, state: EnvState, action: Any, params: EnvParams):
        force = (jnp.asarray(action, jnp.float32) - 1.0) * 0.05
        v = jnp.clip(0.8 * state.v + force, -0.2, 0.2)
        x = jnp.clip(state.x + v, -2.0, 2.0)
        gap = distance(x, params.goal)
        r = -0.1 * gap + 0.01 * jnp.square(v)
        new = EnvState(x=x, v=v, time=state.time + 1)
        done = gap < 0.1
        return self.get_obs(new), new, r, done, {}

    def reset_env(self, key: jax.Array, params: EnvParams):
        state = EnvState(x=jax.random.uniform(key, (), minval=-0.5, maxval=0.5), v=jnp.float32(0.0), time=0)
        return self.get_obs(state), state

    def get_obs(self, state: EnvState, params: EnvParams | None = None, key: Any = None) -> jax.Array:
        return jnp.stack([state.x, state.v])

    def action_space(self, params: EnvParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(3)

    def observation_space(self, params: EnvParams) -> spaces.Box:
        return spaces.Box(-2.0, 2.0, (2,), jnp.float32)


def reached(state: EnvState) -> jax.Array:
    return distance(state.x, 1.0) < 0.1


def make_task():
    from rewardlab.tasks import from_gymnax

    return from_gymnax(
        DotEnv(),
        name=TASK_NAME,
        description="A dot on a line starts near 0 and must reach x = 1 within EPISODE_STEPS steps.",
        fitness="success",
        success=reached,
        ppo=PPO_SETTINGS,
        search_timesteps=SEARCH_STEPS,
    )
'''

FULL = {"total_timesteps": 8192, "num_envs": 8, "num_steps": 32, "n_checkpoints": 2, "eval_episodes": 4}
TINY = {"total_timesteps": 2048, "num_envs": 4, "num_steps": 16, "n_checkpoints": 1, "eval_episodes": 2}


def dot_source(name: str = "Dot-v0", tiny: bool = False) -> str:
    """The environment file, for a task called `name`; `tiny`: 16-step episodes and tiny budgets."""
    return (
        _TEMPLATE.replace("TASK_NAME", repr(name))
        .replace("EPISODE_STEPS", "16" if tiny else "40")
        .replace("PPO_SETTINGS", repr(TINY if tiny else FULL))
        .replace("SEARCH_STEPS", "512" if tiny else "2048")
    )


DOT_ENV = dot_source()

REWARD_EXPRESSION = "-0.1 * gap + 0.01 * jnp.square(v)"
"""The env's reward expression: it must never reach an LLM's prompt."""


def write_dot_env(folder: Path, source: str = DOT_ENV, name: str = "dot_env.py") -> Path:
    """Write the environment file into `folder` (created) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(source, encoding="utf-8")
    return path
