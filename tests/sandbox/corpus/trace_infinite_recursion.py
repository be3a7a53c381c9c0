# expect: trace
# message: recursion
def shaped(x):
    return shaped(x * 0.5) + x


def compute_reward(state, action, next_state):
    return shaped(next_state.x), {}
