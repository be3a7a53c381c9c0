# expect: non_finite
# message: infinite
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    progress = jnp.abs(next_state.x) / (next_state.time - next_state.time)
    return progress, {"progress": progress}
