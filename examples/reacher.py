"""Reacher2D: a two-link planar arm with joint limits that must put its tip on a random target and hold it.

A gymnax-API environment written the way a rewardlab user would write one, plus `make_task()`, which
turns it into a rewardlab task:

    rewardlab train examples/reacher.py:make_task --reward human --reward sparse
    rewardlab search examples/reacher.py:make_task

The arm is two links (lengths `l1`, `l2`) hinged at the origin. The action is a pair of joint torques in
[-1, 1]; each joint is a damped double integrator (no gravity, no coupling between the joints), its
velocity clipped to `max_joint_speed`. The shoulder may turn within +-`shoulder_limit` and the elbow within
+-`elbow_limit`; a joint that hits its limit stops there. The target is drawn anywhere in the reachable
ring at every reset. An episode lasts `max_steps_in_episode` steps and never ends early.

Success (the task's fitness): the tip stays within `target_radius` of the target for `hold_steps`
consecutive steps at some point of the episode. Reaching the target is not enough: the arm has to
stop there.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces


@struct.dataclass
class EnvState(environment.EnvState):
    shoulder: jax.Array  # shoulder joint angle (rad): 0 points the upper arm along +x, counter-clockwise > 0
    elbow: jax.Array  # elbow joint angle (rad) relative to the upper arm: 0 is a straight arm
    shoulder_vel: jax.Array  # shoulder angular velocity (rad/s)
    elbow_vel: jax.Array  # elbow angular velocity (rad/s)
    tip_x: jax.Array  # x of the arm's tip (m), from the joint angles (forward kinematics)
    tip_y: jax.Array  # y of the arm's tip (m)
    target_x: jax.Array  # x of the target (m), fixed for the episode
    target_y: jax.Array  # y of the target (m), fixed for the episode
    steps_on_target: jax.Array  # consecutive steps (int) the tip has been within target_radius of the target
    time: int  # steps taken in this episode


@struct.dataclass
class EnvParams(environment.EnvParams):
    l1: float = 0.5  # upper arm length (m)
    l2: float = 0.5  # forearm length (m)
    shoulder_limit: float = 3.0  # |shoulder| <= this (rad)
    elbow_limit: float = 2.6  # |elbow| <= this (rad): the arm cannot fold onto itself
    max_torque: float = 1.0  # actions are clipped to [-max_torque, max_torque]
    torque_gain: float = 12.0  # angular acceleration (rad/s^2) per unit of torque
    damping: float = 1.0  # viscous damping (1/s)
    max_joint_speed: float = 4.0  # joint speeds are clipped to this (rad/s)
    dt: float = 0.05  # seconds per step
    target_min_r: float = 0.35  # targets are drawn at a distance from the shoulder in [target_min_r,
    target_max_r: float = 0.95  #   target_max_r] and at any angle
    target_radius: float = 0.05  # the tip is "on the target" within this distance (m)
    hold_steps: int = 10  # success: on the target for this many consecutive steps
    max_steps_in_episode: int = 100


def forward_kinematics(
    shoulder: jax.Array, elbow: jax.Array, params: EnvParams
) -> tuple[jax.Array, jax.Array]:
    """(x, y) of the tip for the given joint angles."""
    a = shoulder + elbow
    x = params.l1 * jnp.cos(shoulder) + params.l2 * jnp.cos(a)
    y = params.l1 * jnp.sin(shoulder) + params.l2 * jnp.sin(a)
    return x, y


def _limit(angle: jax.Array, vel: jax.Array, limit: float) -> tuple[jax.Array, jax.Array]:
    """Clip a joint to [-limit, limit]; a joint that hits its stop loses its velocity."""
    clipped = jnp.clip(angle, -limit, limit)
    return clipped, jnp.where(clipped != angle, 0.0, vel)


class ReacherEnv(environment.Environment[EnvState, EnvParams]):
    """Two-link planar reacher with joint limits (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.obs_shape = (12,)

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
        u = jnp.clip(jnp.reshape(action, (2,)), -params.max_torque, params.max_torque)

        # Damped double integrator per joint, semi-implicit Euler.
        vel = jnp.stack([state.shoulder_vel, state.elbow_vel])
        vel = vel + (params.torque_gain * u - params.damping * vel) * params.dt
        vel = jnp.clip(vel, -params.max_joint_speed, params.max_joint_speed)
        shoulder, shoulder_vel = _limit(state.shoulder + vel[0] * params.dt, vel[0], params.shoulder_limit)
        elbow, elbow_vel = _limit(state.elbow + vel[1] * params.dt, vel[1], params.elbow_limit)

        tip_x, tip_y = forward_kinematics(shoulder, elbow, params)
        dist = jnp.sqrt((tip_x - state.target_x) ** 2 + (tip_y - state.target_y) ** 2)
        on_target = dist < params.target_radius
        steps_on_target = jnp.where(on_target, state.steps_on_target + 1, 0)

        # The environment's own reward, as in Gymnasium's MuJoCo Reacher: distance plus a torque cost.
        reward = -dist - jnp.sum(u**2)

        state = EnvState(
            shoulder=shoulder,
            elbow=elbow,
            shoulder_vel=shoulder_vel,
            elbow_vel=elbow_vel,
            tip_x=tip_x,
            tip_y=tip_y,
            target_x=state.target_x,
            target_y=state.target_y,
            steps_on_target=steps_on_target,
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
        k_s, k_e, k_r, k_a = jax.random.split(key, 4)
        shoulder = jax.random.uniform(k_s, minval=-params.shoulder_limit, maxval=params.shoulder_limit)
        elbow = jax.random.uniform(k_e, minval=-1.0, maxval=1.0)
        # Uniform over the area of the ring, at any angle.
        r = jnp.sqrt(
            jax.random.uniform(k_r, minval=params.target_min_r**2, maxval=params.target_max_r**2)
        )
        angle = jax.random.uniform(k_a, minval=-jnp.pi, maxval=jnp.pi)
        tip_x, tip_y = forward_kinematics(shoulder, elbow, params)
        state = EnvState(
            shoulder=shoulder,
            elbow=elbow,
            shoulder_vel=jnp.float32(0.0),
            elbow_vel=jnp.float32(0.0),
            tip_x=tip_x,
            tip_y=tip_y,
            target_x=r * jnp.cos(angle),
            target_y=r * jnp.sin(angle),
            steps_on_target=jnp.int32(0),
            time=0,
        )
        return self.get_obs(state), state

    def get_obs(self, state: EnvState, params: EnvParams | None = None, key: Any = None) -> jax.Array:
        return jnp.stack([
            jnp.cos(state.shoulder),
            jnp.sin(state.shoulder),
            jnp.cos(state.elbow),
            jnp.sin(state.elbow),
            state.shoulder,
            state.elbow,
            state.shoulder_vel,
            state.elbow_vel,
            state.target_x,
            state.target_y,
            state.tip_x - state.target_x,
            state.tip_y - state.target_y,
        ]).astype(jnp.float32)

    def is_terminated(self, state: EnvState, params: EnvParams) -> jax.Array:
        """Never ends early: the time limit (`max_steps_in_episode`) is the only end of an episode."""
        return jnp.array(False)

    @property
    def name(self) -> str:
        return "Reacher2D"

    @property
    def num_actions(self) -> int:
        return 2

    def action_space(self, params: EnvParams | None = None) -> spaces.Box:
        if params is None:
            params = self.default_params
        return spaces.Box(low=-params.max_torque, high=params.max_torque, shape=(2,), dtype=jnp.float32)

    def observation_space(self, params: EnvParams) -> spaces.Box:
        high = jnp.array(
            [1.0, 1.0, 1.0, 1.0, params.shoulder_limit, params.elbow_limit,
             params.max_joint_speed, params.max_joint_speed, 1.0, 1.0, 2.0, 2.0],
            dtype=jnp.float32,
        )
        return spaces.Box(-high, high, shape=(12,), dtype=jnp.float32)


def make_task():
    """The rewardlab task: success = the tip held on the target for `hold_steps` consecutive steps."""
    from rewardlab.tasks import from_gymnax

    params = EnvParams()
    return from_gymnax(
        ReacherEnv(),
        name="Reacher2D",
        description=(
            "A two-link planar arm (links of 0.5 m, shoulder at the origin, joint limits +-3.0 rad at the "
            "shoulder and +-2.6 rad at the elbow) is driven by two joint torques. Bring the tip onto a "
            f"random target and keep it there: the tip must stay within {params.target_radius} m of the "
            f"target for {params.hold_steps} consecutive steps ({params.hold_steps * params.dt:.1f} s). "
            f"Episodes last {params.max_steps_in_episode} steps of {params.dt} s and never end early."
        ),
        fitness="success",
        success=lambda s: s.steps_on_target >= 10,  # = params.hold_steps
        fitness_doc=(
            f"fraction of evaluation episodes in which the tip stays within {params.target_radius} m of the "
            f"target for {params.hold_steps} consecutive steps (next_state.steps_on_target >= "
            f"{params.hold_steps}) at least once (0-1)"
        ),
        ppo={"total_timesteps": 307_200},  # the builder's continuous-action defaults otherwise
        search_timesteps=143_360,
    )
