# expect: trace
def compute_reward(state, action, next_state):
    costs = [0.1, 0.0, 0.1]
    cost = costs[action]
    return -cost, {"cost": cost}
