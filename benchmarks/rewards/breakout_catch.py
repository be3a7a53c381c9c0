# Breakout-MinAtar candidate: the game's points, +0.5 every time the paddle returns the ball (the ball is
# falling in row 8 and moves up on the next step: the only place it can turn upwards below the bricks),
# and -1 for losing the ball. Rewards the skill the score depends on (one life) at the moment it happens.
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    bricks = jnp.maximum(jnp.sum(state.brick_map) - jnp.sum(next_state.brick_map), 0.0)
    falling = (state.ball_dir == 2) | (state.ball_dir == 3)
    rising = (next_state.ball_dir == 0) | (next_state.ball_dir == 1)
    caught = falling & rising & (state.ball_y == 8) & ~next_state.terminal
    catch = 0.5 * caught.astype(jnp.float32)
    lost_ball = jnp.where(next_state.terminal, -1.0, 0.0)
    total = bricks + catch + lost_ball
    return total, {"bricks": bricks, "catch": catch, "lost_ball": lost_ball}
