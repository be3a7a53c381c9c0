# expect: policy
def compute_reward(state, action, next_state):
    return 123456789012345678901234567890123456789 * next_state.x, {}
