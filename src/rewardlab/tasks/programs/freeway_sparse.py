# Sparse reward for Freeway-MinAtar: the game's own points, +1 each time the chicken reaches the top
# (it moves up from row 1 when its move timer allows; it is then put back on row 9).
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    crossed = (action == 1) & (state.move_timer == 0) & (state.pos == 1)
    point = jnp.where(crossed, 1.0, 0.0)
    return point, {"crossing": point}
