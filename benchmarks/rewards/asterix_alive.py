# Asterix-MinAtar candidate: the game's points, +0.02 per step alive and -1 on death: an enemy touch is
# the only way the game ends, and treasure keeps coming to a player that stays alive.
import jax.numpy as jnp


def compute_reward(state, action, next_state, env_reward):
    gold = 1.0 * env_reward
    alive = jnp.where(next_state.terminal, 0.0, 0.02)
    death = jnp.where(next_state.terminal, -1.0, 0.0)
    total = gold + alive + death
    return total, {"gold": gold, "alive": alive, "death": death}
