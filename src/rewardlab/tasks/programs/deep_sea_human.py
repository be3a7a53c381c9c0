# Human reward for DeepSea: the environment's own reward (the treasure, minus 0.01 / size for every step
# right) plus the shaping that bsuite's DeepSea is known to need and a designer who has read the code
# can write: the state's action_mapping says which action moves right in each cell, and only a policy
# that moves right on every step reaches the treasure, so each step right earns a bonus of 1 / size.
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    size = state.action_mapping.shape[0]
    went_right = action == state.action_mapping[state.row, state.column]
    treasure = (next_state.denoised_return > state.denoised_return).astype(jnp.float32)
    move_cost = jnp.where(went_right, -0.01 / size, 0.0)
    right_bonus = jnp.where(went_right, 1.0 / size, 0.0)
    total = treasure + move_cost + right_bonus
    return total, {"treasure": treasure, "move_cost": move_cost, "right_bonus": right_bonus}
