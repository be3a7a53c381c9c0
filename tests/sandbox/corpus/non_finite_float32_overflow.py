# expect: non_finite
# message: float32
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    scale = jnp.float32(1e30)
    total = scale * scale * (1.0 + jnp.abs(next_state.x))
    return total, {}
