# expect: shape
# message: complex
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    phase = jnp.exp(1j * next_state.theta)
    return phase, {}
