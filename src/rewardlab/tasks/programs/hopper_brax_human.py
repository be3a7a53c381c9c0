# Human reward for Hopper-Brax: Brax Hopper's own reward, written over the state. Forward velocity of the
# torso (x displacement over the 0.008 s step), a constant 1 for every step the hopper is healthy (the
# episode ends when it is not), minus 0.001 x the squared torques.
import jax.numpy as jnp

DT = 0.008


def compute_reward(state, action, next_state):
    forward = (next_state.torso_pos[0] - state.torso_pos[0]) / DT
    healthy = jnp.ones_like(forward)
    ctrl_cost = 1e-3 * jnp.sum(jnp.square(action))
    total = forward + healthy - ctrl_cost
    return total, {"forward": forward, "healthy": healthy, "ctrl_cost": -ctrl_cost}
