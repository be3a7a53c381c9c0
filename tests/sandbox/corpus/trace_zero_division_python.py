# expect: trace
# message: ZeroDivisionError
# message: line 7
SCALE = 0


def compute_reward(state, action, next_state):
    weight = 1.0 / SCALE
    return weight * next_state.x, {}
