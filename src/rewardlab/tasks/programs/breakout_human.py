# Human reward for Breakout-MinAtar: the game's points (+1 per brick) plus the shaping Breakout agents
# have been given since the first paddle-game controllers: keep the paddle under the ball (a small bonus
# that grows as the paddle's column approaches the ball's), and a penalty for letting the ball pass.
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    bricks = jnp.maximum(jnp.sum(state.brick_map) - jnp.sum(next_state.brick_map), 0.0)
    gap = jnp.abs(next_state.pos - next_state.ball_x).astype(jnp.float32)
    tracking = 0.05 * (1.0 - gap / 9.0)
    lost_ball = jnp.where(next_state.terminal, -1.0, 0.0)
    total = bricks + tracking + lost_ball
    return total, {"bricks": bricks, "tracking": tracking, "lost_ball": lost_ball}
