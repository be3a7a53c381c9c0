# expect: syntax
import jax.numpy as jnp

def compute_reward(state, action, next_state):
    upright = jnp.cos(next_state.theta)
      total = upright
    return total, {"upright": upright}
