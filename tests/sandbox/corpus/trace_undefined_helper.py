# expect: trace
# message: angle_normalize
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    angle = angle_normalize(next_state.theta)
    return -(angle**2), {}
