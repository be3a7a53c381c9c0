# expect: signature
# message: defined 2 times
def compute_reward(state, action, next_state):
    return 1.0, {}


def compute_reward(state, action, next_state):
    return 2.0, {}
