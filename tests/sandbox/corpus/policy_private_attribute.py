# expect: policy
# message: private
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    internals = jnp._src
    return 1.0, {}
