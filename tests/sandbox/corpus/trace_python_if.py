# expect: trace
# message: jnp.where
# message: line 8
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    if jnp.abs(next_state.theta) < 0.1:
        bonus = 1.0
    else:
        bonus = 0.0
    return bonus, {"bonus": bonus}
