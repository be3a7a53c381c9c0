# expect: policy
# message: assigning
import jax.numpy as jnp

jnp.where = lambda *args: 0.0


def compute_reward(state, action, next_state):
    return jnp.where(next_state.x > 0, 1.0, 0.0), {}
