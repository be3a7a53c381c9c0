# expect: shape
def compute_reward(state, action, next_state):
    return None
