# expect: memory
# message: memory
import jax.numpy as jnp

GRID = jnp.zeros((200_000, 200_000))


def compute_reward(state, action, next_state):
    return GRID[0, 0] + next_state.x, {}
