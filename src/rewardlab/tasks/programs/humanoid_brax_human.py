# Human reward for Humanoid-Brax: Brax Humanoid's own reward, written over the state. 1.25 x the forward
# velocity of the centre of mass (x displacement over the 0.015 s step), 5 for every step the humanoid is
# standing (the episode ends when it is not), minus 0.1 x the squared motor controls (the environment
# applies 0.4 x the action, every actuator's control range being [-0.4, 0.4]).
import jax.numpy as jnp

DT = 0.015


def compute_reward(state, action, next_state):
    forward = 1.25 * (next_state.com[0] - state.com[0]) / DT
    healthy = 5.0 * jnp.ones_like(forward)
    ctrl_cost = 0.1 * jnp.sum(jnp.square(0.4 * action))
    total = forward + healthy - ctrl_cost
    return total, {"forward": forward, "healthy": healthy, "ctrl_cost": -ctrl_cost}
