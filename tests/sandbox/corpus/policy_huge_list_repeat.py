# expect: policy
# message: sequence
def compute_reward(state, action, next_state):
    table = [0.0] * 10**10
    return 1.0, {}
