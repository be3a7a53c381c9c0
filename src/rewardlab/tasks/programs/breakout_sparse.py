# Sparse reward for Breakout-MinAtar: the game's own points, +1 for every brick the ball breaks (read
# from the brick map: one fewer brick; a refill of the three rows is not a point).
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    bricks = jnp.maximum(jnp.sum(state.brick_map) - jnp.sum(next_state.brick_map), 0.0)
    return bricks, {"bricks": bricks}
