# Human reward for MountainCarContinuous-v0: the environment's own reward (-0.1 * action^2 per step,
# +100 on reaching the flag) plus a speed bonus that rewards pumping energy into the swing.
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    action_cost = -0.1 * action[0] ** 2
    reached = (next_state.position >= 0.45) & (next_state.velocity >= 0.0)
    goal_bonus = jnp.where(reached, 100.0, 0.0)
    speed_bonus = 10.0 * jnp.abs(next_state.velocity)
    total = action_cost + goal_bonus + speed_bonus
    return total, {"action_cost": action_cost, "goal_bonus": goal_bonus, "speed_bonus": speed_bonus}
