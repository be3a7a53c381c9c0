# SpaceInvaders-MinAtar candidate: the game's points, +0.02 per step alive and -1 on death: the score
# grows with time survived (aliens keep coming), and dying is what ends it.
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    before = jnp.sum(state.alien_map)
    after = jnp.sum(next_state.alien_map)
    kills = jnp.where(after > before, before, before - after)
    alive = jnp.where(next_state.terminal, 0.0, 0.02)
    death = jnp.where(next_state.terminal, -1.0, 0.0)
    total = kills + alive + death
    return total, {"kills": kills, "alive": alive, "death": death}
