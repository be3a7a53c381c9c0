# expect: trace
# message: module level
import math

LIMIT = math.log(-1.0)


def compute_reward(state, action, next_state):
    return 1.0, {}
