# expect: ok
# task: Pendulum-v1
import math

import jax.numpy as jnp
from jax import lax


def compute_reward(state, action, next_state):
    upright = jnp.cos(next_state.theta)
    effort = -0.01 * jnp.sum(jnp.square(action))
    spin = -0.05 * lax.abs(next_state.theta_dot) / math.pi
    return upright + effort + spin, {"upright": upright, "effort": effort, "spin": spin}
