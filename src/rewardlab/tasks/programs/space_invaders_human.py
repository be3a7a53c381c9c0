# Human reward for SpaceInvaders-MinAtar: the game's points (+1 per alien shot), a penalty for dying, and
# the aiming and dodging shaping of shooter-game agents: a small bonus for standing under a column that
# has aliens in it and a small penalty for standing under an enemy bullet in the three rows above.
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    before = jnp.sum(state.alien_map)
    after = jnp.sum(next_state.alien_map)
    kills = jnp.where(after > before, before, before - after)
    column = jnp.arange(10) == next_state.pos
    aim = 0.01 * jnp.any((next_state.alien_map > 0) & column[None, :]).astype(jnp.float32)
    incoming = jnp.any((next_state.e_bullet_map[6:9] > 0) & column[None, :])
    dodge = -0.05 * incoming.astype(jnp.float32)
    death = jnp.where(next_state.terminal, -1.0, 0.0)
    total = kills + aim + dodge + death
    return total, {"kills": kills, "aim": aim, "dodge": dodge, "death": death}
