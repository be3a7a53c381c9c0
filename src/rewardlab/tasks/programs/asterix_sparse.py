# Sparse reward for Asterix-MinAtar: the game's own points, +1 per treasure picked up. A treasure that
# spawns onto the player is picked up within the same step and never appears in the state, so the points
# are taken from the environment's own reward.
def compute_reward(state, action, next_state, env_reward):
    gold = 1.0 * env_reward
    return gold, {"gold": gold}
