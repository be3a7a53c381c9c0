# Sparse reward for MountainCar-v0: the success signal, 1 when the car reaches the flag at x >= 0.5.
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    success = jnp.where(next_state.position >= 0.5, 1.0, 0.0)
    return success, {"success": success}
