# expect: non_finite
# message: wobble
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    wobble = jnp.sqrt(-1.0 - jnp.abs(next_state.theta_dot))
    return jnp.float32(1.0), {"alive": jnp.float32(1.0), "wobble": wobble}
