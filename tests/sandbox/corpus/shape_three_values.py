# expect: shape
# message: tuple of 3 values
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    upright = jnp.cos(next_state.theta)
    return upright, {"upright": upright}, True
