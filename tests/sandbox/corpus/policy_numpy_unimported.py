# expect: policy
# message: use jax.numpy
def compute_reward(state, action, next_state):
    total = np.clip(next_state.x, -1, 1)
    return total, {}
