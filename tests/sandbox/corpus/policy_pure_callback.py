# expect: policy
# message: jax.pure_callback
import jax
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    v = jax.pure_callback(lambda x: x, jax.ShapeDtypeStruct((), jnp.float32), next_state.x)
    return v, {}
