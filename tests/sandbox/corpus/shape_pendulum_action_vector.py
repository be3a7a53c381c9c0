# expect: shape
# task: Pendulum-v1
# message: shape (2,)
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    effort = -0.001 * jnp.square(action)
    return jnp.cos(next_state.theta), {"effort": jnp.concatenate([effort, effort])}
