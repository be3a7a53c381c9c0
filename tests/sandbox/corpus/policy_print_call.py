# expect: policy
# message: print
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    print("debugging", next_state.x)
    return jnp.cos(next_state.theta), {}
