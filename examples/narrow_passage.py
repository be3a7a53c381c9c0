"""NarrowPassage: a point mass must get through a narrow gap in a wall to reach a goal on the other side.

A gymnax-API environment written the way a rewardlab user would write one, plus `make_task()`, which
turns it into a rewardlab task:

    rewardlab train examples/narrow_passage.py:make_task --reward human --reward sparse
    rewardlab search examples/narrow_passage.py:make_task

The arena is the square [-1, 1] x [-1, 1]. A wall of thickness `2 * wall_half_width` stands along
x = 0 from the bottom edge to the top edge, with one gap of width `2 * gap_half_width` centred at
`gap_y` (drawn at every reset). The agent starts on the left (x near -0.7) and the goal lies on the right
(x near 0.7), each at a random height. The action is a desired velocity in [-1, 1]^2 (times
`max_speed`); the mass's velocity follows it with a lag, and the mass slides along the wall and the
arena's edges when it hits them. An episode ends when the mass is within `goal_radius` of the goal, or
after `max_steps_in_episode` steps.

Success (the task's fitness): reaching the goal.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces


@struct.dataclass
class EnvState(environment.EnvState):
    x: jax.Array  # x of the point mass, in [-1, 1]; the wall fills |x| < 0.05 except at the gap
    y: jax.Array  # y of the point mass, in [-1, 1]
    vx: jax.Array  # velocity along x (units per second)
    vy: jax.Array  # velocity along y (units per second)
    goal_x: jax.Array  # x of the goal, on the right of the wall (fixed for the episode)
    goal_y: jax.Array  # y of the goal (fixed for the episode)
    gap_y: jax.Array  # y of the gap's centre (fixed for the episode); the gap spans gap_y +- 0.06
    time: int  # steps taken in this episode


@struct.dataclass
class EnvParams(environment.EnvParams):
    wall_half_width: float = 0.05  # the wall occupies |x| < wall_half_width ...
    gap_half_width: float = 0.06  # ... except where |y - gap_y| < gap_half_width
    gap_min: float = 0.5  # gap_y is drawn near the top or the bottom edge: |gap_y| uniform in
    gap_max: float = 0.85  #   [gap_min, gap_max], either sign
    start_x: float = -0.7  # the mass starts at x = start_x (+- 0.1), any y in [-0.8, 0.8]
    goal_x: float = 0.7  # the goal is at x = goal_x (+- 0.1), any y in [-0.8, 0.8]
    goal_radius: float = 0.1  # reached when the mass is this close to the goal
    max_speed: float = 1.0  # the action (a desired velocity) is scaled by this (units per second)
    response: float = 0.5  # fraction of the difference between command and velocity closed per step
    dt: float = 0.05  # seconds per step
    max_steps_in_episode: int = 200


def in_wall(x: jax.Array, y: jax.Array, gap_y: jax.Array, params: EnvParams) -> jax.Array:
    """True where (x, y) is inside the wall (not in its gap)."""
    return (jnp.abs(x) < params.wall_half_width) & (jnp.abs(y - gap_y) > params.gap_half_width)


class NarrowPassageEnv(environment.Environment[EnvState, EnvParams]):
    """Point mass, wall with one gap, goal behind the wall (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.obs_shape = (9,)

    @property
    def default_params(self) -> EnvParams:
        return EnvParams()

    def step_env(
        self,
        key: jax.Array,
        state: EnvState,
        action: jax.Array,
        params: EnvParams,
    ) -> tuple[jax.Array, EnvState, jax.Array, jax.Array, dict[Any, Any]]:
        cmd = jnp.clip(jnp.reshape(action, (2,)), -1.0, 1.0) * params.max_speed
        vx = state.vx + params.response * (cmd[0] - state.vx)
        vy = state.vy + params.response * (cmd[1] - state.vy)

        # Move, then resolve collisions: try the full move, else slide along y, else along x, else stay.
        # A step moves at most max_speed * dt = 0.05 < the wall's thickness, so nothing tunnels through.
        nx = jnp.clip(state.x + vx * params.dt, -1.0, 1.0)
        ny = jnp.clip(state.y + vy * params.dt, -1.0, 1.0)
        full_ok = ~in_wall(nx, ny, state.gap_y, params)
        slide_y_ok = ~in_wall(state.x, ny, state.gap_y, params)
        slide_x_ok = ~in_wall(nx, state.y, state.gap_y, params)
        new_x = jnp.where(full_ok | (~slide_y_ok & slide_x_ok), nx, state.x)
        new_y = jnp.where(full_ok | slide_y_ok, ny, state.y)
        vx = jnp.where((new_x != nx) | (jnp.abs(nx) >= 1.0), 0.0, vx)
        vy = jnp.where((new_y != ny) | (jnp.abs(ny) >= 1.0), 0.0, vy)

        dist = jnp.sqrt((new_x - state.goal_x) ** 2 + (new_y - state.goal_y) ** 2)
        # The environment's own reward: get closer to the goal.
        reward = -dist

        state = EnvState(
            x=new_x,
            y=new_y,
            vx=vx,
            vy=vy,
            goal_x=state.goal_x,
            goal_y=state.goal_y,
            gap_y=state.gap_y,
            time=state.time + 1,
        )
        done = self.is_terminated(state, params)
        return (
            jax.lax.stop_gradient(self.get_obs(state)),
            jax.lax.stop_gradient(state),
            reward,
            done,
            {"discount": self.discount(state, params)},
        )

    def reset_env(self, key: jax.Array, params: EnvParams) -> tuple[jax.Array, EnvState]:
        k = jax.random.split(key, 6)
        side = jnp.where(jax.random.bernoulli(k[5]), 1.0, -1.0)
        state = EnvState(
            x=params.start_x + jax.random.uniform(k[0], minval=-0.1, maxval=0.1),
            y=jax.random.uniform(k[1], minval=-0.8, maxval=0.8),
            vx=jnp.float32(0.0),
            vy=jnp.float32(0.0),
            goal_x=params.goal_x + jax.random.uniform(k[2], minval=-0.1, maxval=0.1),
            goal_y=jax.random.uniform(k[3], minval=-0.8, maxval=0.8),
            gap_y=side * jax.random.uniform(k[4], minval=params.gap_min, maxval=params.gap_max),
            time=0,
        )
        return self.get_obs(state), state

    def get_obs(self, state: EnvState, params: EnvParams | None = None, key: Any = None) -> jax.Array:
        return jnp.stack([
            state.x,
            state.y,
            state.vx,
            state.vy,
            state.goal_x,
            state.goal_y,
            state.gap_y,
            state.goal_x - state.x,
            state.goal_y - state.y,
        ]).astype(jnp.float32)

    def is_terminated(self, state: EnvState, params: EnvParams) -> jax.Array:
        """The episode ends when the mass reaches the goal (the time limit is handled separately)."""
        dist = jnp.sqrt((state.x - state.goal_x) ** 2 + (state.y - state.goal_y) ** 2)
        return dist < params.goal_radius

    @property
    def name(self) -> str:
        return "NarrowPassage"

    @property
    def num_actions(self) -> int:
        return 2

    def action_space(self, params: EnvParams | None = None) -> spaces.Box:
        return spaces.Box(low=-1.0, high=1.0, shape=(2,), dtype=jnp.float32)

    def observation_space(self, params: EnvParams) -> spaces.Box:
        v = params.max_speed
        high = jnp.array([1.0, 1.0, v, v, 1.0, 1.0, 1.0, 2.0, 2.0], dtype=jnp.float32)
        return spaces.Box(-high, high, shape=(9,), dtype=jnp.float32)


def make_task():
    """The rewardlab task: success = the mass reaches the goal."""
    from rewardlab.tasks import from_gymnax

    params = EnvParams()
    return from_gymnax(
        NarrowPassageEnv(),
        name="NarrowPassage",
        description=(
            "A point mass in the square [-1, 1]^2 starts on the left of a wall that runs along x = 0 from "
            f"the bottom edge to the top edge. The wall has one gap, {2 * params.gap_half_width:.2f} wide, "
            "centred at height gap_y (random per episode, near the top or the bottom edge). The goal is on "
            "the right of the wall at a random height. Steer the mass (the action is a desired velocity) "
            f"through the gap to within {params.goal_radius} of the goal; the episode ends there or after "
            f"{params.max_steps_in_episode} steps."
        ),
        fitness="success",
        success=lambda s: jnp.sqrt((s.x - s.goal_x) ** 2 + (s.y - s.goal_y) ** 2) < 0.1,
        fitness_doc=(
            f"fraction of evaluation episodes in which the mass reaches the goal (distance from (x, y) to "
            f"(goal_x, goal_y) below {params.goal_radius}, which ends the episode) within "
            f"{params.max_steps_in_episode} steps (0-1)"
        ),
        ppo={"total_timesteps": 307_200},  # the builder's continuous-action defaults otherwise
        search_timesteps=143_360,
    )
