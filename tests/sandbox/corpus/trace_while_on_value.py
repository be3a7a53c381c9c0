# expect: trace
def compute_reward(state, action, next_state):
    x = next_state.x
    while x > 1.0:
        x = x - 1.0
    return x, {}
