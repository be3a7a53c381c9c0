# Human reward for Ant-Brax: Brax Ant's own reward, written over the state. Forward velocity of the torso
# (x displacement over the 0.05 s step), a constant 1 for every step the ant is alive (the episode ends
# when it is not), minus 0.5 x the squared torques. Brax's contact cost is switched off for this env.
import jax.numpy as jnp

DT = 0.05


def compute_reward(state, action, next_state):
    forward = (next_state.torso_pos[0] - state.torso_pos[0]) / DT
    healthy = jnp.ones_like(forward)
    ctrl_cost = 0.5 * jnp.sum(jnp.square(action))
    total = forward + healthy - ctrl_cost
    return total, {"forward": forward, "healthy": healthy, "ctrl_cost": -ctrl_cost}
