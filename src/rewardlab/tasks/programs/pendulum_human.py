# Human reward for Pendulum-v1: the environment's own shaped cost, computed on the state before the
# step: squared angle from upright, plus small penalties on angular velocity and torque.
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    angle = ((state.theta + jnp.pi) % (2 * jnp.pi)) - jnp.pi
    torque = jnp.clip(action[0], -2.0, 2.0)
    angle_cost = angle**2
    velocity_cost = 0.1 * state.theta_dot**2
    torque_cost = 0.001 * torque**2
    total = -(angle_cost + velocity_cost + torque_cost)
    return total, {
        "angle_cost": -angle_cost,
        "velocity_cost": -velocity_cost,
        "torque_cost": -torque_cost,
    }
