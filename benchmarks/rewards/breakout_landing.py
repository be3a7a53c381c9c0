# Breakout-MinAtar variant measured in docs/tasks.md: move the paddle towards the column where the falling
# ball will land (the ball moves diagonally and stops one step at a side wall, hence the period of 20).
import jax.numpy as jnp


def _target(s):
    falling = (s.ball_dir == 2) | (s.ball_dir == 3)
    step = jnp.where(s.ball_dir == 2, 1, -1)
    unfolded = jnp.mod(s.ball_x + step * (9 - s.ball_y), 20)
    landing = jnp.where(unfolded <= 9, unfolded, 19 - unfolded)
    return jnp.where(falling, landing, s.ball_x)


def compute_reward(state, action, next_state):
    bricks = jnp.maximum(jnp.sum(state.brick_map) - jnp.sum(next_state.brick_map), 0.0)
    before = jnp.abs(state.pos - _target(state)).astype(jnp.float32)
    after = jnp.abs(next_state.pos - _target(next_state)).astype(jnp.float32)
    tracking = 0.1 * (before - after)
    lost_ball = jnp.where(next_state.terminal, -1.0, 0.0)
    total = bricks + tracking + lost_ball
    return total, {"bricks": bricks, "tracking": tracking, "lost_ball": lost_ball}
