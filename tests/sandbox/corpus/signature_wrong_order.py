# expect: signature
# message: in this order
def compute_reward(state, next_state, action):
    return 1.0, {}
