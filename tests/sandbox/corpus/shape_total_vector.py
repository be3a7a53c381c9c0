# expect: shape
# message: total has shape (2,)
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    total = jnp.stack([next_state.x, next_state.theta])
    return total, {}
