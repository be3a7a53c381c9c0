# SpaceInvaders-MinAtar candidate: the game's points, -1 on death, and 0.05 per step for standing under the
# lowest alien's column while no enemy bullet is above the cannon: the lowest aliens are the threat (they
# fire at the cannon and reach the bottom first) and the easiest to hit (shortest bullet flight).
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    before = jnp.sum(state.alien_map)
    after = jnp.sum(next_state.alien_map)
    kills = jnp.where(after > before, before, before - after)
    rows = jnp.arange(10)[:, None]
    has = next_state.alien_map > 0
    lowest_row = jnp.max(jnp.where(has, rows, -1))
    lowest_cols = jnp.any(has & (rows == lowest_row), axis=0)
    column = jnp.arange(10) == next_state.pos
    under = jnp.any(lowest_cols & column)
    threat = jnp.any((next_state.e_bullet_map[5:9] > 0) & column[None, :])
    aim = 0.05 * (under & ~threat).astype(jnp.float32)
    death = jnp.where(next_state.terminal, -1.0, 0.0)
    total = kills + aim + death
    return total, {"kills": kills, "aim": aim, "death": death}
