# expect: ok
# A correct program, to show the corpus does not reject everything.
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    upright = jnp.cos(next_state.theta)
    centred = -0.1 * jnp.abs(next_state.x)
    failed = (jnp.abs(next_state.x) > 2.4) | (jnp.abs(next_state.theta) > 0.2095)
    penalty = jnp.where(failed, -1.0, 0.0)
    total = upright + centred + penalty
    return total, {"upright": upright, "centred": centred, "penalty": penalty}
