# expect: policy
# message: use jax.numpy
import numpy as np


def compute_reward(state, action, next_state):
    total = np.cos(next_state.theta)
    return total, {"upright": total}
