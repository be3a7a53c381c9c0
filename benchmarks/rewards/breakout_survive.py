# Breakout-MinAtar candidate: the game's points, +0.02 for every step the ball stays in play and -1 for
# losing it: with one life, time in play is what the score is made of.
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    bricks = jnp.maximum(jnp.sum(state.brick_map) - jnp.sum(next_state.brick_map), 0.0)
    alive = jnp.where(next_state.terminal, 0.0, 0.02)
    lost_ball = jnp.where(next_state.terminal, -1.0, 0.0)
    total = bricks + alive + lost_ball
    return total, {"bricks": bricks, "alive": alive, "lost_ball": lost_ball}
