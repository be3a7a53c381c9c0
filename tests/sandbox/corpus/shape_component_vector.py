# expect: shape
# message: component 'position'
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    position = jnp.array([next_state.x, next_state.x_dot])
    return jnp.sum(position), {"position": position}
