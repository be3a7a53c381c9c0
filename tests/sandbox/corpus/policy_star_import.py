# expect: policy
from jax.numpy import *


def compute_reward(state, action, next_state):
    return cos(next_state.theta), {}
