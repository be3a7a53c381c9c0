# expect: policy
# message: jnp.load
import jax.numpy as jnp

WEIGHTS = jnp.load("/etc/passwd")


def compute_reward(state, action, next_state):
    return 1.0, {}
