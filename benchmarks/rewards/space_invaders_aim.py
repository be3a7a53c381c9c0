# SpaceInvaders-MinAtar variant measured in docs/tasks.md: 0.2 for firing under a column with aliens.
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    before = jnp.sum(state.alien_map)
    after = jnp.sum(next_state.alien_map)
    kills = jnp.where(after > before, before, before - after)
    column = jnp.arange(10) == state.pos
    aligned = jnp.any((state.alien_map > 0) & column[None, :])
    fired = (action == 3) & (state.shot_timer == 0)
    good_shot = 0.2 * (fired & aligned).astype(jnp.float32)
    incoming = jnp.any((next_state.e_bullet_map[6:9] > 0) & (jnp.arange(10) == next_state.pos)[None, :])
    dodge = -0.05 * incoming.astype(jnp.float32)
    death = jnp.where(next_state.terminal, -1.0, 0.0)
    total = kills + good_shot + dodge + death
    return total, {"kills": kills, "good_shot": good_shot, "dodge": dodge, "death": death}
