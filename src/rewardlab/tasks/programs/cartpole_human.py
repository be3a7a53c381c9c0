# Human reward for CartPole-v1: the pole-angle shaping of IsaacGymEnvs' Cartpole task, with the
# failure limits of the classic environment (|x| > 2.4 m or |theta| > 12 degrees).
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    angle_penalty = next_state.theta**2
    cart_velocity_penalty = 0.01 * jnp.abs(next_state.x_dot)
    pole_velocity_penalty = 0.005 * jnp.abs(next_state.theta_dot)
    failed = (jnp.abs(next_state.x) > 2.4) | (jnp.abs(next_state.theta) > 12 * 2 * jnp.pi / 360)
    shaped = 1.0 - angle_penalty - cart_velocity_penalty - pole_velocity_penalty
    total = jnp.where(failed, -2.0, shaped)
    return total, {
        "alive": jnp.where(failed, 0.0, 1.0),
        "angle_penalty": jnp.where(failed, 0.0, -angle_penalty),
        "cart_velocity_penalty": jnp.where(failed, 0.0, -cart_velocity_penalty),
        "pole_velocity_penalty": jnp.where(failed, 0.0, -pole_velocity_penalty),
        "failure": jnp.where(failed, -2.0, 0.0),
    }
