# expect: trace
# message: jnp.where
# A Python conditional expression on a traced value, around an otherwise valid lax.cond.
import jax
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    out = jax.lax.cond(next_state.x > 0, lambda: 1.0, lambda: 0.0) if next_state.x > 0 else 0.0
    return out, {}
