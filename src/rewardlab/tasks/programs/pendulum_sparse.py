# Sparse reward for Pendulum-v1: the fitness signal, 1 for every step the pendulum is upright
# (within about 18 degrees of vertical), 0 otherwise.
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    upright = jnp.where(jnp.cos(next_state.theta) > 0.95, 1.0, 0.0)
    return upright, {"upright": upright}
