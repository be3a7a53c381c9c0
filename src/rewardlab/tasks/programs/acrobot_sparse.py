# Sparse reward for Acrobot-v1: the success signal, 1 on the step where the tip rises above the bar.
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    height = -jnp.cos(next_state.joint_angle1) - jnp.cos(next_state.joint_angle2 + next_state.joint_angle1)
    success = jnp.where(height > 1.0, 1.0, 0.0)
    return success, {"success": success}
