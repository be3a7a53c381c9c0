# expect: shape
# message: component names
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    upright = jnp.cos(next_state.theta)
    return upright, {0: upright}
