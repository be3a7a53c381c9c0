# Human reward for Acrobot-v1: the environment's own reward, -1 per step until the free end of the
# second link swings above the bar (height > 1 link length), 0 on the step that reaches it.
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    height = -jnp.cos(next_state.joint_angle1) - jnp.cos(next_state.joint_angle2 + next_state.joint_angle1)
    reached = height > 1.0
    step_cost = jnp.where(reached, 0.0, -1.0)
    return step_cost, {"step_cost": step_cost}
