# expect: trace
# message: TypeError
def compute_reward(state, action, next_state):
    total = next_state + 1.0
    return total, {}
