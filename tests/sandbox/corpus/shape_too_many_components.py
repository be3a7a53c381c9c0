# expect: shape
# message: at most
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    comps = {f"term_{i}": next_state.x * i for i in range(40)}
    return next_state.x, comps
