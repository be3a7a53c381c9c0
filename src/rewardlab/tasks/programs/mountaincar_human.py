# Human reward for MountainCar-v0: the environment's -1 per step, plus the velocity shaping common in
# the literature for this task (a bonus proportional to the car's speed, which rewards pumping energy
# into the swing) and a bonus for reaching the flag.
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    step_cost = jnp.float32(-1.0)
    speed_bonus = 100.0 * jnp.abs(next_state.velocity)
    goal_bonus = jnp.where(next_state.position >= 0.5, 10.0, 0.0)
    total = step_cost + speed_bonus + goal_bonus
    return total, {"step_cost": step_cost, "speed_bonus": speed_bonus, "goal_bonus": goal_bonus}
