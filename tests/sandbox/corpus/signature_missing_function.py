# expect: signature
# message: no top-level function compute_reward
import jax.numpy as jnp


def reward(state, action, next_state):
    return jnp.cos(next_state.theta), {}
