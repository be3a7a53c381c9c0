# expect: trace
def compute_reward(state, action, next_state):
    x = float(next_state.x)
    return x, {}
