# expect: signature
# message: never returns
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    total = jnp.cos(next_state.theta)
