# Breakout-MinAtar candidate: breakout_catch.py plus moving the paddle towards the column where the falling
# ball will land (0.1 per column closed; the ball moves diagonally and bounces off the side walls, which
# folds its path with a period of 20 columns: it stays a step in the wall column).
import jax.numpy as jnp


def _landing(s):
    falling = (s.ball_dir == 2) | (s.ball_dir == 3)
    step = jnp.where(s.ball_dir == 2, 1, -1)
    unfolded = jnp.mod(s.ball_x + step * (9 - s.ball_y), 20)
    landing = jnp.where(unfolded <= 9, unfolded, 19 - unfolded)
    return jnp.where(falling, landing, s.ball_x)


def compute_reward(state, action, next_state):
    bricks = jnp.maximum(jnp.sum(state.brick_map) - jnp.sum(next_state.brick_map), 0.0)
    falling = (state.ball_dir == 2) | (state.ball_dir == 3)
    rising = (next_state.ball_dir == 0) | (next_state.ball_dir == 1)
    caught = falling & rising & (state.ball_y == 8) & ~next_state.terminal
    catch = 0.5 * caught.astype(jnp.float32)
    before = jnp.abs(state.pos - _landing(state)).astype(jnp.float32)
    after = jnp.abs(next_state.pos - _landing(next_state)).astype(jnp.float32)
    tracking = 0.1 * (before - after)
    lost_ball = jnp.where(next_state.terminal, -1.0, 0.0)
    total = bricks + catch + tracking + lost_ball
    return total, {"bricks": bricks, "catch": catch, "tracking": tracking, "lost_ball": lost_ball}
