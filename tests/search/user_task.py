"""A user's own task for search tests: a gymnax-API environment written to a folder outside the package,
ending in `make_task()` (see `rewardlab.tasks.from_gymnax`). Tiny on purpose: 16-step episodes and a
512-step search budget, so a one-candidate search trains in one small batch.

Its name has a slash and a colon, which a run folder's name must not."""

from __future__ import annotations

from pathlib import Path

NAME = "my/line:v0"

SOURCE = '''\
"""A point on a line must reach x >= 1."""

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces


@struct.dataclass
class EnvState(environment.EnvState):
    x: jax.Array  # position of the point
    time: int


@struct.dataclass
class EnvParams(environment.EnvParams):
    max_steps_in_episode: int = 16


class LineEnv(environment.Environment[EnvState, EnvParams]):
    """Step left, stay or step right."""

    @property
    def default_params(self) -> EnvParams:
        return EnvParams()

    def step_env(self, key: jax.Array, state: EnvState, action: Any, params: EnvParams):
        x = jnp.clip(state.x + (jnp.asarray(action, jnp.float32) - 1.0) * 0.1, -2.0, 2.0)
        new = EnvState(x=x, time=state.time + 1)
        return self.get_obs(new), new, -jnp.abs(1.0 - x), x >= 1.0, {}

    def reset_env(self, key: jax.Array, params: EnvParams):
        state = EnvState(x=jax.random.uniform(key, (), minval=-0.2, maxval=0.2), time=0)
        return self.get_obs(state), state

    def get_obs(self, state: EnvState, params: EnvParams | None = None, key: Any = None) -> jax.Array:
        return jnp.stack([state.x])

    def action_space(self, params: EnvParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(3)

    def observation_space(self, params: EnvParams) -> spaces.Box:
        return spaces.Box(-2.0, 2.0, (1,), jnp.float32)


def make_task():
    from rewardlab.tasks import from_gymnax

    return from_gymnax(
        LineEnv(),
        name="NAME",
        description="A point starts near 0 and must reach x = 1 within 16 steps.",
        fitness="success",
        success=lambda state: state.x >= 1.0,
        ppo={"total_timesteps": 2048, "num_envs": 4, "num_steps": 16, "n_checkpoints": 1, "eval_episodes": 2},
        search_timesteps=512,
    )
'''.replace('"NAME"', repr(NAME))


def write_user_task(folder: Path, name: str = "line_env.py", source: str = SOURCE) -> Path:
    """Write the environment file into `folder` (created); returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(source, encoding="utf-8")
    return path
