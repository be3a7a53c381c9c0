# Sparse reward for Hopper-Brax: forward velocity of the torso alone (the fitness, forward distance, as a
# reward): no alive bonus, no control cost.


def compute_reward(state, action, next_state):
    forward = (next_state.torso_pos[0] - state.torso_pos[0]) / 0.008
    return forward, {"forward": forward}
