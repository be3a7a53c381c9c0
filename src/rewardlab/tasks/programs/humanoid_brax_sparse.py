# Sparse reward for Humanoid-Brax: forward velocity of the centre of mass alone (the fitness, forward
# distance, as a reward): no standing bonus, no control cost.


def compute_reward(state, action, next_state):
    forward = (next_state.com[0] - state.com[0]) / 0.015
    return forward, {"forward": forward}
