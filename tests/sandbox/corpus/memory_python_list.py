# expect: memory
import math

N = int(math.sqrt(1e22))


def compute_reward(state, action, next_state):
    table = [0.0] * N
    return 1.0, {}
