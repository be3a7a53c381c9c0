# expect: memory
import jax
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    noise = jax.random.normal(jax.random.PRNGKey(0), (80_000, 80_000))
    ranked = jnp.sort(noise + next_state.x, axis=None)
    return ranked[0], {}
