# expect: non_finite
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    urgency = jnp.exp(1000.0 * (jnp.abs(next_state.x) + 1.0))
    return -urgency, {"urgency": urgency}
