"""Gymnasium tasks by reference: `gymnasium:ENV_ID`, trained by the `sb3` engine.

Three ids have curated tasks (named state fields, a fitness with its range, PPO settings):
`gymnasium:CartPole-v1` (the same problem as the gymnax `CartPole-v1`, so the two engines can be compared on
one task), `gymnasium:InvertedPendulum-v5` and `gymnasium:Hopper-v5` (MuJoCo, headless). Any other
registered id gets a generic task: the whole observation as the one state field `obs`, the environment's
own return as fitness, the default `sb3` PPO settings. A task's name is its reference, so a child process
finds it again with `registry.get(name)`.
"""

from __future__ import annotations

from collections.abc import Callable

from rewardlab.config import PPOConfig
from rewardlab.tasks.base import Task
from rewardlab.tasks.gym_builder import check_env_id, from_gymnasium

PREFIX = "gymnasium:"


def is_gym_name(name: str) -> bool:
    return name.startswith(PREFIX)


def gym_task(name: str) -> Task:
    """The task `gymnasium:ENV_ID` names (curated when there is one); bad ids raise GymTaskError."""
    env_id = name[len(PREFIX):].strip()
    check_env_id(env_id)
    make = CURATED.get(env_id)
    if make is not None:
        return make()
    return from_gymnasium(
        env_id, name=PREFIX + env_id, check=False,
        description=f"The Gymnasium environment {env_id}: maximise its own episode return.",
    )


def cartpole() -> Task:
    return from_gymnasium(
        "CartPole-v1",
        name=PREFIX + "CartPole-v1",
        description=(
            "A pole is attached by an unactuated joint to a cart that moves along a frictionless track. "
            "The agent pushes the cart left or right each step. Keep the pole balanced upright and the "
            "cart on the track for as long as possible; an episode ends when the pole tilts more than "
            "12 degrees, the cart leaves the track (|x| > 2.4), or after 500 steps."
        ),
        state={"x": "obs[0]", "x_dot": "obs[1]", "theta": "obs[2]", "theta_dot": "obs[3]", "time": "time"},
        state_doc={
            "x": "cart position on the track in metres (episode fails beyond +-2.4)",
            "x_dot": "cart velocity in m/s",
            "theta": "pole angle from vertical in radians (episode fails beyond +-0.2095, i.e. 12 degrees)",
            "theta_dot": "pole angular velocity in rad/s",
            "time": "steps since the episode started",
        },
        action_doc="int: 0 pushes the cart left, 1 pushes it right (force 10 N)",
        fitness="length",
        fitness_doc="mean evaluation episode length in steps (0-500; 500 = balanced for the whole episode)",
        # The gymnax CartPole-v1's settings, so that both engines train the same problem the same way.
        ppo=PPOConfig(total_timesteps=200_000, num_envs=16, num_steps=32, update_epochs=4, num_minibatches=2,
                      lr=2.5e-3, ent_coef=0.01, gamma=0.99),
        search_timesteps=8_192,
        solve_env_return=475.0,
        check=False,
    )


def inverted_pendulum() -> Task:
    return from_gymnasium(
        "InvertedPendulum-v5",
        name=PREFIX + "InvertedPendulum-v5",
        description=(
            "A cart on a rail carries a pole on a hinge (MuJoCo). The agent applies a horizontal force "
            "to the cart. Keep the pole upright: an episode ends when the pole tilts more than 0.2 rad "
            "from vertical, or after 1000 steps."
        ),
        state={"cart_x": "obs[0]", "pole_angle": "obs[1]", "cart_vel": "obs[2]", "pole_vel": "obs[3]"},
        state_doc={
            "cart_x": "cart position on the rail in metres",
            "pole_angle": "pole angle from vertical in radians (episode fails beyond +-0.2)",
            "cart_vel": "cart velocity in m/s",
            "pole_vel": "pole angular velocity in rad/s",
        },
        action_doc=(
            "float array of shape (1,): the force on the cart, in [-3, 3] (clipped before the reward sees it)"
        ),
        fitness="length",
        fitness_doc="mean evaluation episode length in steps (0-1000; 1000 = balanced for the whole episode)",
        ppo=PPOConfig(total_timesteps=100_000, num_envs=8, num_steps=128, update_epochs=10,
                      num_minibatches=4, lr=1e-3, ent_coef=0.0, gamma=0.99, normalize_obs=False),
        search_timesteps=8_192,
        solve_env_return=950.0,
        check=False,
    )


def hopper() -> Task:
    return from_gymnasium(
        "Hopper-v5",
        name=PREFIX + "Hopper-v5",
        description=(
            "A one-legged robot in 2-D (torso, thigh, leg, foot; MuJoCo) hops forward by applying torques "
            "at its three joints. Hop forward (+x) as fast as possible without falling: an episode ends "
            "when the torso drops below 0.7 m, tilts more than 0.2 rad, or any state leaves [-100, 100], "
            "or after 1000 steps."
        ),
        state={
            "qpos": "env.data.qpos", "qvel": "env.data.qvel", "x_velocity": "info.x_velocity",
        },
        state_doc={
            "qpos": "joint positions (6,): torso x (m), torso z height (m), torso angle, thigh, leg and foot "
                    "joint angles (rad)",
            "qvel": "joint velocities (6,), the time derivatives of qpos",
            "x_velocity": "forward velocity of the torso over the last step in m/s (0 in an episode's first "
                          "state)",
        },
        action_doc=(
            "float array of shape (3,): torques at the thigh, leg and foot joints, each in [-1, 1] "
            "(clipped before the reward sees it)"
        ),
        fitness=_hopper_fitness,
        signals=_hopper_signals,
        fitness_doc="mean forward distance (m) the torso travels per evaluation episode",
        ppo=PPOConfig(total_timesteps=1_000_000, num_envs=8, num_steps=256, update_epochs=10,
                      num_minibatches=8, lr=3e-4, ent_coef=0.0, gamma=0.99, normalize_obs=True,
                      normalize_reward=True),
        search_timesteps=200_000,
        check=False,
    )


def _hopper_signals(state, action, next_state, terminated):
    return {"distance": next_state.qpos[0] - state.qpos[0]}


def _hopper_fitness(ep):
    import jax.numpy as jnp

    distance = jnp.mean(ep["distance"])
    return distance, {"distance": distance, "env_return": jnp.mean(ep["env_return"]),
                      "episode_length": jnp.mean(ep["length"].astype(jnp.float32))}


CURATED: dict[str, Callable[[], Task]] = {
    "CartPole-v1": cartpole,
    "InvertedPendulum-v5": inverted_pendulum,
    "Hopper-v5": hopper,
}
