# expect: policy
# message: nothing may run on import
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    return jnp.cos(next_state.theta), {}


compute_reward(None, None, None)
