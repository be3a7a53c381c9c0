# SpaceInvaders-MinAtar candidate: the game's points, -3 on death, and dodging: -0.1 for every step the
# cannon stands under an enemy bullet in the four rows above it (a bullet falls a row per step, so that is
# the warning the cannon has), plus 0.1 for a shot fired under a column with aliens.
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    before = jnp.sum(state.alien_map)
    after = jnp.sum(next_state.alien_map)
    kills = jnp.where(after > before, before, before - after)
    column = jnp.arange(10) == next_state.pos
    incoming = jnp.any((next_state.e_bullet_map[5:9] > 0) & column[None, :])
    dodge = -0.1 * incoming.astype(jnp.float32)
    aligned = jnp.any((state.alien_map > 0) & (jnp.arange(10) == state.pos)[None, :])
    fired = (action == 3) & (state.shot_timer == 0)
    good_shot = 0.1 * (fired & aligned).astype(jnp.float32)
    death = jnp.where(next_state.terminal, -3.0, 0.0)
    total = kills + dodge + good_shot + death
    return total, {"kills": kills, "dodge": dodge, "good_shot": good_shot, "death": death}
