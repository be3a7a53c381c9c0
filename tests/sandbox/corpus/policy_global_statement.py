# expect: policy
# message: global
COUNTER = 0


def compute_reward(state, action, next_state):
    global COUNTER
    COUNTER = COUNTER + 1
    return 1.0, {}
