# expect: policy
import sys


def compute_reward(state, action, next_state):
    os = sys.modules["os"]
    return 1.0, {}
